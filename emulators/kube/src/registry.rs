//! The resource types the server knows: built-ins plus every served version of every CRD.
//! Discovery, routing, validation and table printing all read these definitions.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::Value;

/// One `additionalPrinterColumns` entry (or a built-in default column).
#[derive(Debug, Clone, PartialEq)]
pub struct PrinterColumn {
    pub name: String,
    pub type_: String,
    pub format: String,
    pub description: String,
    pub priority: i64,
    pub json_path: String,
}

/// A subresource other than `status` (e.g. `deployments/scale`, `serviceaccounts/token`), as
/// discovery lists it: its own kind, possibly in another group/version.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Subresource {
    pub name: &'static str,
    pub group: &'static str,
    pub version: &'static str,
    pub kind: &'static str,
    pub verbs: &'static [&'static str],
}

/// A served group/version/resource.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ResourceDef {
    pub group: String,
    pub version: String,
    pub plural: String,
    pub singular: String,
    pub kind: String,
    pub list_kind: String,
    pub namespaced: bool,
    pub short_names: Vec<String>,
    pub categories: Vec<String>,
    pub status_subresource: bool,
    /// `openAPIV3Schema` for custom resources; built-ins are not schema-checked.
    pub schema: Option<Arc<Value>>,
    pub printer_columns: Vec<PrinterColumn>,
    /// True for custom resources: they refuse strategic-merge patches and unconditional PUTs.
    pub custom: bool,
    /// Verbs discovery lists; empty means the full set of a stored resource.
    pub verbs: &'static [&'static str],
    /// Subresources besides `status`.
    pub subresources: Vec<Subresource>,
}

impl ResourceDef {
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.clone()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    /// `configmaps` or `notebooks.modelarts.operator.dev`, as error messages print it.
    pub fn qualified_plural(&self) -> String {
        if self.group.is_empty() {
            self.plural.clone()
        } else {
            format!("{}.{}", self.plural, self.group)
        }
    }

    /// Objects of all versions of one group/resource share storage (no conversion, as with
    /// a CRD whose conversion strategy is `None`).
    pub fn storage_key(&self) -> String {
        if crate::events::is_events(self) {
            return crate::events::STORAGE_KEY.into();
        }
        format!("{}/{}", self.group, self.plural)
    }

    pub fn builtin(
        group: &str,
        version: &str,
        plural: &str,
        kind: &str,
        namespaced: bool,
        short: &[&str],
    ) -> Self {
        Self {
            group: group.into(),
            version: version.into(),
            plural: plural.into(),
            singular: kind.to_lowercase(),
            kind: kind.into(),
            list_kind: format!("{kind}List"),
            namespaced,
            short_names: short.iter().map(|s| s.to_string()).collect(),
            categories: vec![],
            status_subresource: false,
            schema: None,
            printer_columns: vec![],
            custom: false,
            verbs: &[],
            subresources: vec![],
        }
    }

    pub fn subresource(&self, name: &str) -> Option<&Subresource> {
        self.subresources.iter().find(|s| s.name == name)
    }
}

/// Keyed by (group, version, plural).
#[derive(Debug, Default, Clone)]
pub struct Registry {
    defs: BTreeMap<(String, String, String), Arc<ResourceDef>>,
}

impl Registry {
    pub fn with_builtins() -> Self {
        let mut reg = Self::default();
        let mut ns = ResourceDef::builtin("", "v1", "namespaces", "Namespace", false, &["ns"]);
        ns.status_subresource = true;
        reg.insert(ns);
        reg.insert(ResourceDef::builtin("", "v1", "secrets", "Secret", true, &[]));
        reg.insert(ResourceDef::builtin(
            "",
            "v1",
            "configmaps",
            "ConfigMap",
            true,
            &["cm"],
        ));
        let mut events = ResourceDef::builtin("", "v1", "events", "Event", true, &["ev"]);
        let column = |name: &str, type_: &str, path: &str| PrinterColumn {
            name: name.into(),
            type_: type_.into(),
            format: String::new(),
            description: String::new(),
            priority: 0,
            json_path: path.into(),
        };
        // What `kubectl get events` shows on a cluster (Object is the name only: no concatenation).
        events.printer_columns = vec![
            column("Last Seen", "date", ".lastTimestamp"),
            column("Type", "string", ".type"),
            column("Reason", "string", ".reason"),
            column("Object", "string", ".involvedObject.name"),
            column("Message", "string", ".message"),
        ];
        reg.insert(events);
        reg.insert(ResourceDef::builtin(
            "events.k8s.io",
            "v1",
            "events",
            "Event",
            true,
            &["ev"],
        ));
        reg.insert(ResourceDef::builtin(
            "coordination.k8s.io",
            "v1",
            "leases",
            "Lease",
            true,
            &[],
        ));
        let mut crd = ResourceDef::builtin(
            "apiextensions.k8s.io",
            "v1",
            "customresourcedefinitions",
            "CustomResourceDefinition",
            false,
            &["crd", "crds"],
        );
        crd.status_subresource = true;
        crd.printer_columns = vec![PrinterColumn {
            name: "Created At".into(),
            // A timestamp, not an age, as kubectl shows for CRDs: a string column prints as is.
            type_: "string".into(),
            format: String::new(),
            description: "creation time".into(),
            priority: 0,
            json_path: ".metadata.creationTimestamp".into(),
        }];
        reg.insert(crd);
        crate::builtins::register(&mut reg);
        reg
    }

    pub fn insert(&mut self, def: ResourceDef) {
        self.defs.insert(
            (def.group.clone(), def.version.clone(), def.plural.clone()),
            Arc::new(def),
        );
    }

    pub fn get(&self, group: &str, version: &str, plural: &str) -> Option<Arc<ResourceDef>> {
        self.defs
            .get(&(group.to_string(), version.to_string(), plural.to_string()))
            .cloned()
    }

    /// Removes every version of a custom group/resource (the CRD was deleted or replaced).
    pub fn remove_resource(&mut self, group: &str, plural: &str) {
        self.defs.retain(|(g, _, p), _| !(g == group && p == plural));
    }

    pub fn all(&self) -> impl Iterator<Item = &Arc<ResourceDef>> {
        self.defs.values()
    }

    /// Group/versions in a stable order: the legacy core group first, as the apiserver lists it.
    pub fn group_versions(&self) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = Vec::new();
        for (g, v, _) in self.defs.keys() {
            if !out.iter().any(|(og, ov)| og == g && ov == v) {
                out.push((g.clone(), v.clone()));
            }
        }
        out
    }
}
