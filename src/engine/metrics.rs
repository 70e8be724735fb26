//! Prometheus metrics for the engine and the cloud client (prometheus-client, text exposition).
use prometheus_client::{
    encoding::{EncodeLabelSet, text::encode},
    metrics::{counter::Counter, family::Family, gauge::Gauge, histogram::Histogram},
    registry::Registry,
};
use std::time::Duration;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ReconcileLabels {
    pub kind: String,
    pub outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct KindLabels {
    pub kind: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct CallLabels {
    pub operation: String,
    pub status: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OperationLabels {
    pub operation: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ReadyLabels {
    pub kind: String,
    pub ready: String,
}

/// Every metric the operator exports. Cheap to clone: each field is an `Arc` inside.
#[derive(Clone)]
pub struct Metrics {
    pub reconciles: Family<ReconcileLabels, Counter>,
    pub reconcile_duration: Family<KindLabels, Histogram>,
    pub cloud_calls: Family<CallLabels, Counter>,
    pub cloud_latency: Family<OperationLabels, Histogram>,
    pub objects: Family<ReadyLabels, Gauge>,
    /// 1 while this replica holds the leader lease (or runs without election), else 0.
    pub leader: Gauge,
    /// Effective client-side request rate per credentials scope (AIMD against 429s).
    pub cloud_request_rate: super::ratelimit::RateGauge,
    registry: std::sync::Arc<Registry>,
}

fn buckets() -> impl Iterator<Item = f64> {
    [
        0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
    ]
    .into_iter()
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("modelarts_operator");
        let reconciles = Family::<ReconcileLabels, Counter>::default();
        let reconcile_duration =
            Family::<KindLabels, Histogram>::new_with_constructor(|| Histogram::new(buckets()));
        let cloud_calls = Family::<CallLabels, Counter>::default();
        let cloud_latency =
            Family::<OperationLabels, Histogram>::new_with_constructor(|| Histogram::new(buckets()));
        let objects = Family::<ReadyLabels, Gauge>::default();
        registry.register("reconciles", "Reconciles by kind and outcome", reconciles.clone());
        registry.register(
            "reconcile_duration_seconds",
            "Reconcile duration",
            reconcile_duration.clone(),
        );
        registry.register(
            "cloud_api_calls",
            "ModelArts API calls by operation and status",
            cloud_calls.clone(),
        );
        registry.register(
            "cloud_api_latency_seconds",
            "ModelArts API latency by operation",
            cloud_latency.clone(),
        );
        registry.register("objects", "Objects by kind and Ready state", objects.clone());
        let leader = Gauge::default();
        registry.register(
            "leader",
            "1 while this replica is the active (leader) replica",
            leader.clone(),
        );
        let cloud_request_rate = super::ratelimit::RateGauge::default();
        registry.register(
            "cloud_request_rate",
            "Effective ModelArts request rate per credentials scope (requests/s): --rate, lowered while the cloud throttles",
            cloud_request_rate.clone(),
        );
        Self {
            cloud_request_rate,
            reconciles,
            reconcile_duration,
            cloud_calls,
            cloud_latency,
            objects,
            leader,
            registry: std::sync::Arc::new(registry),
        }
    }
}

impl Metrics {
    pub fn reconciled(&self, kind: &str, outcome: &str, took: Duration) {
        self.reconciles
            .get_or_create(&ReconcileLabels {
                kind: kind.into(),
                outcome: outcome.into(),
            })
            .inc();
        self.reconcile_duration
            .get_or_create(&KindLabels { kind: kind.into() })
            .observe(took.as_secs_f64());
    }

    pub fn cloud_call(&self, operation: &str, status: &str, took: Duration) {
        self.cloud_calls
            .get_or_create(&CallLabels {
                operation: operation.into(),
                status: status.into(),
            })
            .inc();
        self.cloud_latency
            .get_or_create(&OperationLabels {
                operation: operation.into(),
            })
            .observe(took.as_secs_f64());
    }

    /// Sum of cloud calls whose operation matches `pred`, for benchmarks and tests.
    pub fn cloud_calls_where(&self, pred: impl Fn(&str) -> bool) -> u64 {
        let text = self.encode();
        text.lines()
            .filter(|l| l.starts_with("modelarts_operator_cloud_api_calls_total{"))
            .filter(|l| {
                l.split("operation=\"")
                    .nth(1)
                    .and_then(|r| r.split('"').next())
                    .is_some_and(&pred)
            })
            .filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
            .sum()
    }

    pub fn encode(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = encode(&mut out, &self.registry);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recorded_calls_appear_in_the_exposition_and_can_be_summed() {
        let m = Metrics::default();
        m.cloud_call("notebook.show", "200", Duration::from_millis(3));
        m.cloud_call("notebook.show", "200", Duration::from_millis(3));
        m.cloud_call("notebook.create", "200", Duration::from_millis(3));
        m.reconciled("Notebook", "done", Duration::from_millis(20));
        let text = m.encode();
        assert!(
            text.contains("modelarts_operator_reconciles_total{kind=\"Notebook\",outcome=\"done\"} 1"),
            "{text}"
        );
        assert_eq!(m.cloud_calls_where(|op| op == "notebook.show"), 2);
        assert_eq!(m.cloud_calls_where(|op| op.starts_with("notebook.")), 3);
    }
}
