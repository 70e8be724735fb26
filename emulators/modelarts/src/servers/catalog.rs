//! Seeded Lite Server flavors and images (`/dev-servers/flavors`, `/dev-servers/images`).

use serde_json::{Value, json};

pub struct ServerFlavor {
    pub flavor: &'static str,
    pub server_type: &'static str,
    pub arch: &'static str,
    pub specification: &'static str,
    /// For supernodes (HPS): child servers created with the supernode, and the maximum.
    pub hps_nodes: (usize, usize),
}

pub const FLAVORS: &[ServerFlavor] = &[
    ServerFlavor {
        flavor: "modelarts.bm.npu.arm.8snt9b3.d",
        server_type: "BMS",
        arch: "ARM",
        specification: "Ascend: 8*ascend-snt9b(64GB) | ARM: 192vCPUs 1536GB",
        hps_nodes: (0, 0),
    },
    ServerFlavor {
        flavor: "modelarts.bm.gpu.8ant8",
        server_type: "BMS",
        arch: "X86",
        specification: "GPU: 8*NVIDIA-A800(80GB) | CPU: 128vCPUs 2048GB",
        hps_nodes: (0, 0),
    },
    ServerFlavor {
        flavor: "modelarts.ecs.gpu.t4.8u32g",
        server_type: "ECS",
        arch: "X86",
        specification: "GPU: 1*NVIDIA-T4(16GB) | CPU: 8vCPUs 32GB",
        hps_nodes: (0, 0),
    },
    ServerFlavor {
        flavor: "modelarts.hps.npu.arm.snt9c.x4",
        server_type: "HPS",
        arch: "ARM",
        specification: "Supernode: 4*(8*ascend-snt9c) | ARM: 4*192vCPUs",
        hps_nodes: (4, 8),
    },
];

pub fn flavor(name: &str) -> Option<&'static ServerFlavor> {
    FLAVORS.iter().find(|f| f.flavor == name)
}

pub struct ServerImage {
    pub image_id: &'static str,
    pub name: &'static str,
    pub arch: &'static str,
    pub server_type: &'static str,
}

pub const IMAGES: &[ServerImage] = &[
    ServerImage {
        image_id: "5d2e0d6c-6d1a-4b41-9a2a-2f3e4c5b6a71",
        name: "EulerOS-2.10-Arm-64bit-for-Snt9B-BareMetal-with-CANN8.0",
        arch: "ARM",
        server_type: "BMS",
    },
    ServerImage {
        image_id: "8a1f2e3d-4c5b-4a69-8e7f-1a2b3c4d5e6f",
        name: "Ubuntu-22.04-x86-for-Ant8-BareMetal-with-CUDA12.2",
        arch: "X86",
        server_type: "BMS",
    },
    ServerImage {
        image_id: "0b9c8d7e-6f5a-4b3c-9d2e-1f0a9b8c7d6e",
        name: "Ubuntu-22.04-x86-ECS-with-CUDA12.2",
        arch: "X86",
        server_type: "ECS",
    },
    // A second ECS image, so an OS change (changeos) has somewhere to go.
    ServerImage {
        image_id: "3c7e5a1b-9d2f-4e8a-b6c4-7f1e2d3a5b90",
        name: "Ubuntu-24.04-x86-ECS-with-CUDA12.6",
        arch: "X86",
        server_type: "ECS",
    },
    ServerImage {
        image_id: "c4d3e2f1-a0b9-4c8d-8e7f-6a5b4c3d2e1f",
        name: "HCE-2.0-Arm-64bit-for-Snt9C-Supernode-with-CANN8.1",
        arch: "ARM",
        server_type: "HPS",
    },
];

pub fn image(id: &str) -> Option<&'static ServerImage> {
    IMAGES.iter().find(|i| i.image_id == id)
}

impl ServerFlavor {
    pub fn to_json(&self, region: &str, charging_mode: &str) -> Value {
        json!({
            "flavor": self.flavor, "flavor_type": if self.server_type == "HPS" { "SUPERNODE" } else { "SERVER" },
            "arch": self.arch, "availability_zone": format!("{region}a"), "charging_mode": charging_mode,
            "count": 16, "roce_num": if self.server_type == "ECS" { 0 } else { 8 }, "server_type": self.server_type,
            "sku_code": format!("{}.sku", self.flavor), "specification": self.specification,
            "status": "normal", "is_sold_out": false,
        })
    }
}

impl ServerImage {
    pub fn to_json(&self) -> Value {
        json!({"image_id": self.image_id, "name": self.name, "arch": self.arch, "server_type": self.server_type, "status": "ACTIVE"})
    }
}
