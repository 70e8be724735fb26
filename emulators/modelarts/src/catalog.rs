//! Built-in, read-only seed data: notebook images and flavors. The IDs are fixed so tests and
//! the demo can name them.

use serde_json::{Value, json};

pub const IMAGE_PYTORCH_CPU: &str = "e1a07296-22a8-4f05-8bc8-e936c8e54090";
pub const IMAGE_PYTORCH_GPU: &str = "278e88d1-5b71-4766-8502-b3ba72e824d9";
pub const IMAGE_MINDSPORE_ASCEND: &str = "3f9a4d0e-8c27-4b6e-9d3a-5e21c0b7a914";
pub const IMAGE_TENSORFLOW_CPU: &str = "59a1c4f2-6b0e-4f53-a2d7-0c8e9b1f3d66";

pub const FLAVOR_CPU_2U: &str = "modelarts.vm.cpu.2u";
pub const FLAVOR_CPU_8U: &str = "modelarts.vm.cpu.8u";
pub const FLAVOR_GPU_T4: &str = "modelarts.vm.gpu.t4";
pub const FLAVOR_GPU_V100: &str = "modelarts.vm.gpu.v100";
pub const FLAVOR_ASCEND_SNT9B: &str = "modelarts.bm.npu.arm.8snt9b3.d";

/// Epoch ms the seeded images claim to have been built at.
const IMAGE_TIME: i64 = 1_717_200_000_000;

pub struct NotebookImage {
    pub id: &'static str,
    pub name: &'static str,
    pub tag: &'static str,
    pub category: &'static str,
    pub arch: &'static str,
    pub description: &'static str,
}

pub const NOTEBOOK_IMAGES: &[NotebookImage] = &[
    NotebookImage {
        id: IMAGE_PYTORCH_CPU,
        name: "pytorch2.1.0-cpu-py3.10-ubuntu22.04",
        tag: "pytorch_2.1.0-cpu-py_3.10-ubuntu_22.04-x86_64-20240601",
        category: "CPU",
        arch: "x86_64",
        description: "CPU-only PyTorch 2.1.0 with Python 3.10 on Ubuntu 22.04",
    },
    NotebookImage {
        id: IMAGE_PYTORCH_GPU,
        name: "pytorch2.1.0-cuda12.1-cudnn8-ubuntu22.04",
        tag: "pytorch_2.1.0-cuda_12.1-py_3.10-ubuntu_22.04-x86_64-20240601",
        category: "GPU",
        arch: "x86_64",
        description: "PyTorch 2.1.0 with CUDA 12.1 and cuDNN 8",
    },
    NotebookImage {
        id: IMAGE_MINDSPORE_ASCEND,
        name: "mindspore2.3.0-cann8.0-py3.9-euler2.10",
        tag: "mindspore_2.3.0-cann_8.0.rc2-py_3.9-euler_2.10.7-aarch64-snt9b-20240601",
        category: "ASCEND",
        arch: "aarch64",
        description: "MindSpore 2.3.0 on CANN 8.0 for Ascend Snt9B",
    },
    NotebookImage {
        id: IMAGE_TENSORFLOW_CPU,
        name: "tensorflow2.13.0-cpu-py3.10-ubuntu22.04",
        tag: "tensorflow_2.13.0-cpu-py_3.10-ubuntu_22.04-x86_64-20240601",
        category: "CPU",
        arch: "x86_64",
        description: "CPU-only TensorFlow 2.13.0",
    },
];

pub fn notebook_image(id: &str) -> Option<&'static NotebookImage> {
    NOTEBOOK_IMAGES.iter().find(|i| i.id == id)
}

impl NotebookImage {
    /// The `Image` object as both the image list and `NotebookResp.image` carry it.
    pub fn to_json(&self, region: &str) -> Value {
        let mut categories = vec![self.category];
        if self.category == "GPU" {
            // GPU images also run on CPU flavors.
            categories.push("CPU");
        }
        json!({
            "id": self.id, "name": self.name, "namespace": "atelier", "tag": self.tag,
            "swr_path": format!("swr.{region}.myhuaweicloud.com/atelier/{}:{}", self.name, self.tag),
            "arch": self.arch, "description": self.description, "size": 9_437_184,
            "create_at": IMAGE_TIME, "update_at": IMAGE_TIME, "type": "BUILD_IN", "origin": "CUSTOMIZE",
            "service_type": "COMMON", "dev_services": ["NOTEBOOK", "SSH"],
            "resource_categories": categories, "support_res_categories": categories,
            "status": "ACTIVE", "status_message": "", "visibility": "PUBLIC", "workspace_id": "0",
            "tags": [],
        })
    }
}

pub struct NotebookFlavor {
    pub id: &'static str,
    pub category: &'static str,
    pub arch: &'static str,
    pub vcpus: i64,
    pub memory_gb: i64,
    pub accelerator: Option<(&'static str, i64, &'static str)>,
    pub free: bool,
    pub description: &'static str,
}

pub const NOTEBOOK_FLAVORS: &[NotebookFlavor] = &[
    NotebookFlavor {
        id: FLAVOR_CPU_2U,
        category: "CPU",
        arch: "x86_64",
        vcpus: 2,
        memory_gb: 8,
        accelerator: None,
        free: false,
        description: "CPU: 2vCPUs 8GB",
    },
    NotebookFlavor {
        id: FLAVOR_CPU_8U,
        category: "CPU",
        arch: "x86_64",
        vcpus: 8,
        memory_gb: 32,
        accelerator: None,
        free: false,
        description: "CPU: 8vCPUs 32GB",
    },
    NotebookFlavor {
        id: FLAVOR_GPU_T4,
        category: "GPU",
        arch: "x86_64",
        vcpus: 8,
        memory_gb: 32,
        accelerator: Some(("T4", 1, "16GB")),
        free: false,
        description: "GPU: 1*T4(16GB)|CPU: 8vCPUs 32GB",
    },
    NotebookFlavor {
        id: FLAVOR_GPU_V100,
        category: "GPU",
        arch: "x86_64",
        vcpus: 8,
        memory_gb: 64,
        accelerator: Some(("V100", 1, "32GB")),
        free: false,
        description: "GPU: 1*V100(32GB)|CPU: 8vCPUs 64GB",
    },
    NotebookFlavor {
        id: FLAVOR_ASCEND_SNT9B,
        category: "ASCEND",
        arch: "aarch64",
        vcpus: 24,
        memory_gb: 192,
        accelerator: Some(("snt9b", 1, "64GB")),
        free: false,
        description: "Ascend: 1*ascend-snt9b(64GB)|ARM: 24vCPUs 192GB",
    },
];

pub fn notebook_flavor(id: &str) -> Option<&'static NotebookFlavor> {
    NOTEBOOK_FLAVORS.iter().find(|f| f.id == id)
}

impl NotebookFlavor {
    pub fn to_json(&self) -> Value {
        let mut v = json!({
            "id": self.id, "name": self.id, "description": self.description, "arch": self.arch,
            "category": self.category, "vcpus": self.vcpus, "memory": self.memory_gb * 1024,
            "billing": {"code": format!("{}.billing", self.id), "unit_num": 1},
            "feature": "NOTEBOOK", "free": self.free, "sold_out": false,
            "storages": ["EVS", "EFS"], "evs_max_size": "4096", "evs_sku_code": "modelarts.evs.ssd",
            "grow_support_type": "COMMON",
        });
        match (self.category, self.accelerator) {
            ("GPU", Some((ty, n, mem))) => v["gpu"] = json!({"gpu": n, "gpu_memory": mem, "type": ty}),
            ("ASCEND", Some((ty, n, mem))) => {
                // `chip` is the number of NPU devices, an integer in the SDK's AscendInfo.
                v["ascend"] = json!({"npu": n, "npu_memory": mem, "type": ty, "chip": n})
            }
            _ => {}
        }
        v
    }

    /// Whether an image can run on this flavor (same architecture and a supported category).
    pub fn fits(&self, image: &NotebookImage) -> bool {
        image.arch == self.arch
            && (image.category == self.category || (image.category == "GPU" && self.category == "CPU"))
    }
}
