//! Patch application: RFC 7386 merge patch, RFC 6902 JSON patch (with the apiserver's quirk that
//! `test` of a missing path against `null` succeeds, which kube's `finalizer()` helper relies on).
//! Server-side apply lives in `apply`, strategic merge patch in `smp`.

use serde_json::{Map, Value};

/// RFC 7386: objects merge recursively, `null` deletes, anything else replaces.
pub fn merge_patch(target: &mut Value, patch: &Value) {
    let Value::Object(patch_map) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = Value::Object(Map::new());
    }
    let Value::Object(target_map) = target else { return };
    for (key, value) in patch_map {
        if value.is_null() {
            target_map.remove(key);
        } else {
            merge_patch(target_map.entry(key.clone()).or_insert(Value::Null), value);
        }
    }
}

fn unescape(token: &str) -> String {
    token.replace("~1", "/").replace("~0", "~")
}

fn split_pointer(path: &str) -> Result<Vec<String>, String> {
    if path.is_empty() {
        return Ok(vec![]);
    }
    let rest = path
        .strip_prefix('/')
        .ok_or_else(|| format!("invalid JSON pointer {path:?}"))?;
    Ok(rest.split('/').map(unescape).collect())
}

fn array_index(token: &str, len: usize, allow_end: bool) -> Result<usize, String> {
    if allow_end && token == "-" {
        return Ok(len);
    }
    let idx: usize = token
        .parse()
        .map_err(|_| format!("invalid array index {token:?}"))?;
    let limit = if allow_end { len } else { len.saturating_sub(1) };
    if idx > limit || (!allow_end && len == 0) {
        return Err(format!("array index {idx} out of bounds"));
    }
    Ok(idx)
}

fn resolve<'a>(doc: &'a Value, tokens: &[String]) -> Option<&'a Value> {
    tokens.iter().try_fold(doc, |cur, tok| match cur {
        Value::Object(m) => m.get(tok),
        Value::Array(a) => tok.parse::<usize>().ok().and_then(|i| a.get(i)),
        _ => None,
    })
}

fn parent_mut<'a>(doc: &'a mut Value, tokens: &[String]) -> Result<&'a mut Value, String> {
    let mut cur = doc;
    for tok in tokens {
        cur = match cur {
            Value::Object(m) => m
                .get_mut(tok)
                .ok_or_else(|| format!("missing path element {tok:?}"))?,
            Value::Array(a) => {
                let i = array_index(tok, a.len(), false)?;
                &mut a[i]
            }
            _ => return Err(format!("cannot descend into a scalar at {tok:?}")),
        };
    }
    Ok(cur)
}

fn add(doc: &mut Value, tokens: &[String], value: Value) -> Result<(), String> {
    let Some((last, parents)) = tokens.split_last() else {
        *doc = value;
        return Ok(());
    };
    match parent_mut(doc, parents)? {
        Value::Object(m) => {
            m.insert(last.clone(), value);
        }
        Value::Array(a) => {
            let i = array_index(last, a.len(), true)?;
            a.insert(i, value);
        }
        _ => return Err("cannot add to a scalar".into()),
    }
    Ok(())
}

fn remove(doc: &mut Value, tokens: &[String]) -> Result<Value, String> {
    let Some((last, parents)) = tokens.split_last() else {
        return Err("cannot remove the root".into());
    };
    match parent_mut(doc, parents)? {
        Value::Object(m) => m
            .remove(last)
            .ok_or_else(|| format!("missing path element {last:?}")),
        Value::Array(a) => {
            let i = array_index(last, a.len(), false)?;
            Ok(a.remove(i))
        }
        _ => Err("cannot remove from a scalar".into()),
    }
}

/// Applies an RFC 6902 patch; any failing operation aborts the whole patch (the caller keeps the
/// original). The error text is what the apiserver would put in its 422/400 message.
pub fn json_patch(doc: &mut Value, patch: &Value) -> Result<(), String> {
    let ops = patch
        .as_array()
        .ok_or("a JSON patch must be an array of operations")?;
    for op in ops {
        let name = op["op"].as_str().ok_or("operation has no \"op\"")?;
        let path = split_pointer(op["path"].as_str().ok_or("operation has no \"path\"")?)?;
        let value = || {
            op.get("value")
                .cloned()
                .ok_or_else(|| format!("{name} operation has no \"value\""))
        };
        match name {
            "add" => add(doc, &path, value()?)?,
            "remove" => {
                remove(doc, &path)?;
            }
            "replace" if path.is_empty() => *doc = value()?,
            "replace" => {
                remove(doc, &path)?;
                add(doc, &path, value()?)?;
            }
            "move" | "copy" => {
                let from = split_pointer(op["from"].as_str().ok_or("operation has no \"from\"")?)?;
                let moved = if name == "move" {
                    remove(doc, &from)?
                } else {
                    resolve(doc, &from)
                        .cloned()
                        .ok_or("\"from\" path does not exist")?
                };
                add(doc, &path, moved)?;
            }
            "test" => {
                let expected = value()?;
                // The apiserver's quirk: a missing path compares equal to null.
                let actual = resolve(doc, &path).cloned().unwrap_or(Value::Null);
                if actual != expected {
                    return Err(format!(
                        "testing value {} failed",
                        op["path"].as_str().unwrap_or_default()
                    ));
                }
            }
            other => return Err(format!("unknown patch operation {other:?}")),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn merge_patch_merges_objects_and_null_deletes_a_key() {
        let mut doc = json!({"a": {"b": 1, "c": 2}, "d": [1, 2]});
        merge_patch(&mut doc, &json!({"a": {"b": null, "e": 3}, "d": [9]}));
        assert_eq!(doc, json!({"a": {"c": 2, "e": 3}, "d": [9]}));
    }

    #[test]
    fn json_patch_test_of_a_missing_path_against_null_succeeds() {
        let mut doc = json!({"metadata": {}});
        let patch = json!([
            {"op": "test", "path": "/metadata/finalizers", "value": null},
            {"op": "add", "path": "/metadata/finalizers", "value": ["x"]}
        ]);
        json_patch(&mut doc, &patch).unwrap();
        assert_eq!(doc, json!({"metadata": {"finalizers": ["x"]}}));
    }

    #[test]
    fn json_patch_test_with_a_different_value_fails_the_whole_patch() {
        let mut doc = json!({"a": 1});
        let err = json_patch(&mut doc, &json!([{"op": "test", "path": "/a", "value": 2}])).unwrap_err();
        assert!(err.contains("testing value /a failed"), "{err}");
    }

    #[test]
    fn json_patch_supports_every_operation() {
        let mut doc = json!({"list": [1, 2], "a": {"b": 1}, "gone": true});
        let patch = json!([
            {"op": "add", "path": "/list/-", "value": 3},
            {"op": "add", "path": "/list/0", "value": 0},
            {"op": "replace", "path": "/a/b", "value": 2},
            {"op": "remove", "path": "/gone"},
            {"op": "copy", "from": "/a", "path": "/c"},
            {"op": "move", "from": "/c/b", "path": "/moved"},
            {"op": "remove", "path": "/list/1"}
        ]);
        json_patch(&mut doc, &patch).unwrap();
        assert_eq!(
            doc,
            json!({"list": [0, 2, 3], "a": {"b": 2}, "c": {}, "moved": 2})
        );
    }

    #[test]
    fn json_patch_remove_of_a_missing_path_is_an_error() {
        let mut doc = json!({});
        assert!(json_patch(&mut doc, &json!([{"op": "remove", "path": "/x"}])).is_err());
    }
}
