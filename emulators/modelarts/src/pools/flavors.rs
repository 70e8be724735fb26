//! Seeded resource flavors (`GET /v1/{project_id}/resourceflavors`) that pools are built from.

use serde_json::{Value, json};

pub struct ResourceFlavor {
    pub name: &'static str,
    /// `Dedicate` (physical) or `Logical`.
    pub pool_type: &'static str,
    pub cpu_arch: &'static str,
    pub cpu: u32,
    pub memory_gi: u32,
    /// (kind gpu|npu, type, count, memory)
    pub accelerator: Option<(&'static str, &'static str, u32, &'static str)>,
    pub scope: &'static str,
}

pub const RESOURCE_FLAVORS: &[ResourceFlavor] = &[
    ResourceFlavor {
        name: "modelarts.vm.cpu.16u64g.d",
        pool_type: "Dedicate",
        cpu_arch: "x86",
        cpu: 16,
        memory_gi: 64,
        accelerator: None,
        scope: "Train.Infer.Notebook",
    },
    ResourceFlavor {
        name: "modelarts.vm.gpu.tnt004",
        pool_type: "Dedicate",
        cpu_arch: "x86",
        cpu: 8,
        memory_gi: 32,
        accelerator: Some(("gpu", "nvidia-t4", 1, "16Gi")),
        scope: "Train.Infer.Notebook",
    },
    ResourceFlavor {
        name: "modelarts.bm.gpu.8v100",
        pool_type: "Dedicate",
        cpu_arch: "x86",
        cpu: 64,
        memory_gi: 512,
        accelerator: Some(("gpu", "nvidia-v100", 8, "32Gi")),
        scope: "Train.Infer",
    },
    ResourceFlavor {
        name: "modelarts.bm.npu.arm.8snt9b3.d",
        pool_type: "Dedicate",
        cpu_arch: "arm64",
        cpu: 192,
        memory_gi: 1536,
        accelerator: Some(("npu", "ascend-snt9b", 8, "64Gi")),
        scope: "Train.Infer",
    },
    ResourceFlavor {
        name: "modelarts.pool.logical.cpu.8u32g",
        pool_type: "Logical",
        cpu_arch: "x86",
        cpu: 8,
        memory_gi: 32,
        accelerator: None,
        scope: "Train.Infer.Notebook",
    },
];

pub fn find(name: &str) -> Option<&'static ResourceFlavor> {
    RESOURCE_FLAVORS.iter().find(|f| f.name == name)
}

impl ResourceFlavor {
    pub fn to_json(&self, region: &str) -> Value {
        let mut spec = json!({
            "type": self.pool_type, "cpuArch": self.cpu_arch, "cpu": self.cpu.to_string(),
            "memory": format!("{}Gi", self.memory_gi), "billingModes": [0, 1],
            "billingCode": format!("{}.billing", self.name), "jobFlavors": [],
            "dataVolume": [{"volumeType": "SSD", "size": "500Gi"}],
        });
        if let Some((kind, ty, n, mem)) = self.accelerator {
            // The SDK's ResourceFlavorXpu declares every field a string, the card count included.
            spec[kind] = json!({"type": ty, "size": n.to_string(), "memory": mem});
        }
        json!({
            "apiVersion": "v1", "kind": "ResourceFlavor",
            "metadata": {"name": self.name, "labels": {"os.modelarts/scope": self.scope}, "annotations": {}},
            "spec": spec,
            "status": {"phase": {format!("{region}a"): "normal", format!("{region}b"): "normal"}},
        })
    }

    /// Node capacity as the node API reports it (strings).
    pub fn node_resources(&self) -> Value {
        let mut r = json!({"cpu": self.cpu.to_string(), "memory": format!("{}Gi", self.memory_gi)});
        match self.accelerator {
            Some(("gpu", _, n, _)) => r["nvidia.com/gpu"] = json!(n.to_string()),
            Some(("npu", _, n, _)) => r["huawei.com/ascend-snt9"] = json!(n.to_string()),
            _ => {}
        }
        r
    }
}
