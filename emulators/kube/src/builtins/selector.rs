//! `metav1.LabelSelector` (matchLabels + matchExpressions): matching a label map, and the string
//! form the `/scale` subresource reports in `status.selector`.

use serde_json::Value;

/// True when `labels` satisfy the selector. An empty selector matches everything (callers that
/// forbid empty selectors check that first).
pub fn matches(selector: &Value, labels: &Value) -> bool {
    let label = |k: &str| labels.get(k).and_then(Value::as_str);
    let by_label = selector["matchLabels"]
        .as_object()
        .into_iter()
        .flatten()
        .all(|(k, v)| label(k) == v.as_str());
    let by_expr = selector["matchExpressions"]
        .as_array()
        .into_iter()
        .flatten()
        .all(|e| {
            let key = e["key"].as_str().unwrap_or_default();
            let values: Vec<&str> = e["values"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .collect();
            match e["operator"].as_str() {
                Some("In") => label(key).is_some_and(|v| values.contains(&v)),
                Some("NotIn") => label(key).is_none_or(|v| !values.contains(&v)),
                Some("Exists") => label(key).is_some(),
                Some("DoesNotExist") => label(key).is_none(),
                _ => false,
            }
        });
    by_label && by_expr
}

pub fn is_empty(selector: &Value) -> bool {
    selector["matchLabels"].as_object().is_none_or(|m| m.is_empty())
        && selector["matchExpressions"]
            .as_array()
            .is_none_or(|a| a.is_empty())
}

/// `app=web,tier in (a,b)`: the selector as `labels.Selector.String()` prints it.
pub fn to_string(selector: &Value) -> String {
    let mut parts: Vec<String> = selector["matchLabels"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
        .collect();
    for e in selector["matchExpressions"].as_array().into_iter().flatten() {
        let key = e["key"].as_str().unwrap_or_default();
        let mut values: Vec<&str> = e["values"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        values.sort();
        parts.push(match e["operator"].as_str() {
            Some("In") => format!("{key} in ({})", values.join(",")),
            Some("NotIn") => format!("{key} notin ({})", values.join(",")),
            Some("DoesNotExist") => format!("!{key}"),
            _ => key.to_string(),
        });
    }
    parts.sort();
    parts.join(",")
}

/// `v1.LabelSelector{MatchLabels:map[string]string{"app":"x"}, MatchExpressions:[]v1.LabelSelectorRequirement(nil)}`:
/// how an immutable-field error prints a selector (expressions are summarised).
pub fn go_repr(selector: &Value) -> String {
    let exprs = match selector["matchExpressions"].as_array() {
        Some(a) if !a.is_empty() => format!("[]v1.LabelSelectorRequirement{{ /* {} */ }}", a.len()),
        _ => "[]v1.LabelSelectorRequirement(nil)".into(),
    };
    format!(
        "v1.LabelSelector{{MatchLabels:{}, MatchExpressions:{exprs}}}",
        super::go_string_map(&selector["matchLabels"])
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn match_labels_and_expressions_both_have_to_hold() {
        let sel = json!({"matchLabels": {"app": "web"}, "matchExpressions": [{"key": "tier", "operator": "In", "values": ["a", "b"]}]});
        assert!(matches(&sel, &json!({"app": "web", "tier": "a"})));
        assert!(!matches(&sel, &json!({"app": "web", "tier": "c"})));
        assert!(!matches(&sel, &json!({"tier": "a"})));
        assert_eq!(to_string(&sel), "app=web,tier in (a,b)");
    }
}
