//! The four kinds a chaos run mixes: their manifests, the spec changes churn applies, and the
//! bodies of the "user's" own cloud resources seeded beside them.
use super::harness::BenchKind;
use kube::discovery::ApiResource;
use modelarts_operator::api::{LiteServer, Notebook, ResourcePool};
use rand::{Rng, rngs::StdRng};
use serde_json::{Value, json};

const HPS_FLAVOR: &str = "modelarts.hps.npu.arm.snt9c.x4";
const HPS_IMAGE: &str = "c4d3e2f1-a0b9-4c8d-8e7f-6a5b4c3d2e1f";
const UUID: &str = "3c1d5f7e-9a2b-4c6d-8e0f-1a2b3c4d5e6f";

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    Notebook,
    Pool,
    Ecs,
    Hps,
}

pub const KINDS: [Kind; 4] = [Kind::Notebook, Kind::Pool, Kind::Ecs, Kind::Hps];

impl Kind {
    pub fn api_resource(self) -> ApiResource {
        match self {
            Kind::Notebook => ApiResource::erase::<Notebook>(&()),
            Kind::Pool => ApiResource::erase::<ResourcePool>(&()),
            Kind::Ecs | Kind::Hps => ApiResource::erase::<LiteServer>(&()),
        }
    }

    /// The inventory kind this kind's cloud resource is listed under.
    pub fn cloud_kind(self) -> &'static str {
        match self {
            Kind::Notebook => "notebooks",
            Kind::Pool => "pools",
            Kind::Ecs => "dev-servers",
            Kind::Hps => "hyperinstances",
        }
    }

    /// Whether the cloud resource carries tags (ECS servers have no tag API).
    pub fn tagged(self) -> bool {
        self != Kind::Ecs
    }

    pub fn name(self, i: usize) -> String {
        match self {
            Kind::Notebook => BenchKind::Notebook.name(i),
            Kind::Pool => BenchKind::Pool.name(i),
            Kind::Ecs => BenchKind::LiteServer.name(i),
            Kind::Hps => format!("hps-{i:05}"),
        }
    }

    /// Object `i`'s manifest (the scale bench's, plus a supernode for HPS).
    pub fn manifest(self, i: usize, ns: &str) -> Value {
        match self {
            Kind::Notebook => BenchKind::Notebook.manifest(i, ns),
            Kind::Pool => BenchKind::Pool.manifest(i, ns),
            Kind::Ecs => BenchKind::LiteServer.manifest(i, ns),
            Kind::Hps => {
                let mut m = BenchKind::LiteServer.manifest(i, ns);
                m["metadata"]["name"] = json!(self.name(i));
                let spec = &mut m["spec"];
                spec["serverType"] = json!("HPS");
                spec["flavor"] = json!(HPS_FLAVOR);
                spec["image"] = json!({"id": HPS_IMAGE});
                spec["arch"] = json!("ARM");
                spec["hpsClusterId"] = json!(UUID);
                spec["tags"] = json!({"team": "chaos"});
                spec["nodes"] = json!([{"flavor": HPS_FLAVOR, "count": 4}]);
                m
            }
        }
    }

    /// A random spec change, as a merge patch: tags, desiredState, or counts.
    pub fn patch(self, rng: &mut StdRng, round: u32) -> Value {
        let tags = json!({"spec": {"tags": {"team": "chaos", "round": round.to_string()}}});
        let state =
            json!({"spec": {"desiredState": if rng.random_bool(0.5) { "Stopped" } else { "Running" }}});
        match self {
            Kind::Notebook if rng.random_bool(0.5) => tags,
            Kind::Notebook | Kind::Ecs => state,
            Kind::Pool if rng.random_bool(0.5) => tags,
            Kind::Pool => {
                let flavor = BenchKind::Pool.manifest(0, "")["spec"]["resources"][0]["flavor"].clone();
                json!({"spec": {"resources": [{"flavor": flavor, "count": rng.random_range(1..=3)}]}})
            }
            Kind::Hps if rng.random_bool(0.5) => tags,
            Kind::Hps => {
                json!({"spec": {"nodes": [{"flavor": HPS_FLAVOR, "count": rng.random_range(4..=6)}]}})
            }
        }
    }

    /// The create call a person makes for their own resource named `name`, outside Kubernetes.
    pub fn seed_create(self, name: &str) -> (&'static str, Value) {
        let manifest = self.manifest(0, "");
        let spec = &manifest["spec"];
        match self {
            Kind::Notebook => (
                "/v1/{pid}/notebooks",
                json!({"name": name, "image_id": spec["image"]["id"], "flavor": spec["flavor"],
                       "volume": {"category": "EVS", "ownership": "MANAGED", "capacity": 5}}),
            ),
            Kind::Pool => (
                "/v2/{pid}/pools",
                json!({"apiVersion": "v2", "kind": "Pool", "metadata": {"labels": {"os.modelarts/name": name}},
                       "spec": {"type": "Dedicate", "scope": ["Train"], "resources": spec["resources"],
                                "network": spec["network"]}}),
            ),
            Kind::Ecs | Kind::Hps => {
                let mut body = json!({"name": name, "image_id": spec["image"]["id"], "flavor": spec["flavor"],
                       "key_pair_name": "kp-user",
                       "network": {"vpc_id": UUID, "subnet_id": UUID, "security_group_id": UUID}});
                if self == Kind::Hps {
                    body["server_type"] = json!("HPS");
                    body["arch"] = json!("ARM");
                    body["hps_cluster_id"] = json!(UUID);
                }
                ("/v1/{pid}/dev-servers", body)
            }
        }
    }

    /// Where a seeded resource's tags are written, given its ID.
    pub fn seed_tags_path(self, id: &str) -> Option<String> {
        match self {
            Kind::Notebook => Some(format!("/v1/{{pid}}/notebooks/{id}/tags/create")),
            Kind::Pool => Some(format!("/v1/{{pid}}/pools/{id}/tags/create")),
            Kind::Hps => Some(format!("/v1/{{pid}}/dev-servers/hyperinstance/{id}/tags/create")),
            Kind::Ecs => None,
        }
    }

    /// The cloud ID in a create answer (a pool answers with its name; a supernode create
    /// answers with its first node, whose `hps` names the supernode).
    pub fn seed_id(self, answer: &Value) -> Option<String> {
        let id = match self {
            Kind::Pool => &answer["metadata"]["name"],
            _ => &answer["id"],
        };
        id.as_str().map(str::to_string)
    }
}
