//! Server-side printing (`Accept: application/json;as=Table;v=v1;g=meta.k8s.io`): a Name column,
//! then the CRD's `additionalPrinterColumns` (defaulted to Age when there are none, as the
//! apiextensions defaulting does), evaluated with a small JSONPath subset.

use serde_json::{Value, json};

use crate::registry::{PrinterColumn, ResourceDef};

/// `includeObject`: what each row carries besides its cells.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Include {
    None,
    Metadata,
    Object,
}

impl Include {
    pub fn parse(raw: Option<&str>) -> Self {
        match raw {
            Some("None") => Include::None,
            Some("Object") => Include::Object,
            _ => Include::Metadata,
        }
    }
}

fn columns(def: &ResourceDef) -> Vec<PrinterColumn> {
    if def.printer_columns.is_empty() {
        vec![PrinterColumn {
            name: "Age".into(),
            type_: "date".into(),
            format: String::new(),
            description:
                "CreationTimestamp is a timestamp representing the server time when this object was created."
                    .into(),
            priority: 0,
            json_path: ".metadata.creationTimestamp".into(),
        }]
    } else {
        def.printer_columns.clone()
    }
}

/// Builds a Table; `with_columns` is false for watch events after the first.
pub fn table(
    def: &ResourceDef,
    objects: &[&Value],
    include: Include,
    with_columns: bool,
    meta: Option<Value>,
) -> Value {
    if crate::events::is_events(def) {
        return computed(
            crate::events::table_columns(),
            crate::events::table_cells,
            objects,
            include,
            with_columns,
            meta,
        );
    }
    let cols = columns(def);
    let mut definitions = vec![json!({
        "name": "Name", "type": "string", "format": "name", "priority": 0,
        "description": "Name must be unique within a namespace."
    })];
    match crate::builtins::columns::definitions(def) {
        Some(builtin) => definitions.extend(builtin),
        None => definitions.extend(cols.iter().map(|c| {
            json!({"name": c.name, "type": c.type_, "format": c.format, "description": c.description, "priority": c.priority})
        })),
    }
    let cells = |object: &Value| {
        let mut cells = vec![object["metadata"]["name"].clone()];
        match crate::builtins::columns::cells(def, object) {
            Some(builtin) => cells.extend(builtin),
            None => cells.extend(cols.iter().map(|c| cell(c, object))),
        }
        cells
    };
    computed(definitions, cells, objects, include, with_columns, meta)
}

/// A Table from column definitions and a function computing each row's cells.
fn computed(
    definitions: Vec<Value>,
    cells: impl Fn(&Value) -> Vec<Value>,
    objects: &[&Value],
    include: Include,
    with_columns: bool,
    meta: Option<Value>,
) -> Value {
    let rows: Vec<Value> = objects
        .iter()
        .map(|object| {
            let mut row = json!({"cells": cells(object)});
            match include {
                Include::None => {}
                Include::Metadata => row["object"] = partial(object),
                Include::Object => row["object"] = (*object).clone(),
            }
            row
        })
        .collect();
    let columns = if with_columns {
        Value::Array(definitions)
    } else {
        json!([])
    };
    json!({
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": meta.unwrap_or_else(|| json!({})),
        "columnDefinitions": columns,
        "rows": rows,
    })
}

/// An object reduced to `PartialObjectMetadata`, as metadata-only clients and table rows get it.
pub fn partial(object: &Value) -> Value {
    json!({"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": object["metadata"]})
}

fn cell(column: &PrinterColumn, object: &Value) -> Value {
    let Some(first) = eval(&column.json_path, object).into_iter().next() else {
        return Value::Null;
    };
    match (column.type_.as_str(), &first) {
        ("date", Value::String(s)) => Value::String(human_age(s)),
        ("integer", Value::Number(_)) | ("number", Value::Number(_)) | ("boolean", Value::Bool(_)) => first,
        (_, Value::String(_)) => first,
        (_, Value::Null) => Value::Null,
        _ => Value::String(first.to_string()),
    }
}

/// kubectl's `HumanDuration` rendering of the time since a timestamp.
pub fn human_age(timestamp: &str) -> String {
    let Ok(then) = timestamp.parse::<jiff::Timestamp>() else {
        return "<invalid>".into();
    };
    let secs = (jiff::Timestamp::now().as_second() - then.as_second()).max(0);
    match secs {
        s if s < 120 => format!("{s}s"),
        s if s < 600 => format!("{}m{}s", s / 60, s % 60),
        s if s < 3 * 3600 => format!("{}m", s / 60),
        s if s < 8 * 3600 => format!("{}h{}m", s / 3600, (s % 3600) / 60),
        s if s < 48 * 3600 => format!("{}h", s / 3600),
        s if s < 8 * 86400 => format!("{}d{}h", s / 86400, (s % 86400) / 3600),
        s => format!("{}d", s / 86400),
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Step {
    Field(String),
    Index(usize),
    All,
    /// `[?(@.a.b == "x")]` or `!=`; a bare `[?(@.a)]` tests existence.
    Filter(Vec<String>, Option<(bool, Value)>),
}

fn parse(path: &str) -> Option<Vec<Step>> {
    let path = path.trim().trim_start_matches('{').trim_end_matches('}');
    let mut steps = Vec::new();
    let mut rest = path.trim_start_matches('$');
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix('.') {
            let end = r.find(['.', '[']).unwrap_or(r.len());
            if end > 0 {
                steps.push(Step::Field(r[..end].to_string()));
            }
            rest = &r[end..];
        } else if let Some(r) = rest.strip_prefix('[') {
            let end = find_close(r)?;
            let inner = r[..end].trim();
            rest = &r[end + 1..];
            steps.push(if inner == "*" {
                Step::All
            } else if let Some(f) = inner.strip_prefix("?(").and_then(|f| f.strip_suffix(')')) {
                parse_filter(f)?
            } else if let Ok(i) = inner.parse() {
                Step::Index(i)
            } else {
                Step::Field(inner.trim_matches(['\'', '"']).to_string())
            });
        } else {
            return None;
        }
    }
    Some(steps)
}

fn find_close(s: &str) -> Option<usize> {
    let mut quote = None;
    for (i, c) in s.char_indices() {
        match (quote, c) {
            (None, '"' | '\'') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            (None, ']') => return Some(i),
            _ => {}
        }
    }
    None
}

fn parse_filter(f: &str) -> Option<Step> {
    let (lhs, cmp) = if let Some((l, r)) = f.split_once("!=") {
        (l, Some((true, r)))
    } else if let Some((l, r)) = f.split_once("==") {
        (l, Some((false, r)))
    } else {
        (f, None)
    };
    let fields: Vec<String> = lhs
        .trim()
        .strip_prefix('@')?
        .split('.')
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect();
    let cmp = cmp.map(|(neg, r)| {
        let r = r.trim();
        let value = if (r.starts_with('"') && r.ends_with('"')) || (r.starts_with('\'') && r.ends_with('\''))
        {
            Value::String(r[1..r.len() - 1].to_string())
        } else {
            serde_json::from_str(r).unwrap_or(Value::String(r.to_string()))
        };
        (neg, value)
    });
    Some(Step::Filter(fields, cmp))
}

/// Evaluates the JSONPath subset; an unparsable path yields no results (an empty cell).
pub fn eval(path: &str, root: &Value) -> Vec<Value> {
    let Some(steps) = parse(path) else { return vec![] };
    let mut current = vec![root.clone()];
    for step in &steps {
        let mut next = Vec::new();
        for v in &current {
            match step {
                Step::Field(f) => next.extend(v.get(f).cloned()),
                Step::Index(i) => next.extend(v.get(*i).cloned()),
                Step::All => match v {
                    Value::Array(a) => next.extend(a.iter().cloned()),
                    Value::Object(m) => next.extend(m.values().cloned()),
                    _ => {}
                },
                Step::Filter(fields, cmp) => {
                    for item in v.as_array().into_iter().flatten() {
                        let got = fields.iter().try_fold(item, |cur, f| cur.get(f));
                        let keep = match (got, cmp) {
                            (Some(_), None) => true,
                            (Some(g), Some((neg, want))) => (g == want) != *neg,
                            (None, Some((true, _))) => true,
                            _ => false,
                        };
                        if keep {
                            next.push(item.clone());
                        }
                    }
                }
            }
        }
        current = next;
    }
    current
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_filter_expression_selects_the_ready_condition_status() {
        let o = json!({"status": {"conditions": [
            {"type": "Synced", "status": "True"}, {"type": "Ready", "status": "False"}
        ]}});
        assert_eq!(
            eval(r#".status.conditions[?(@.type=="Ready")].status"#, &o),
            vec![json!("False")]
        );
        assert_eq!(
            eval(".status.conditions[?(@.type=='Synced')].status", &o),
            vec![json!("True")]
        );
        assert_eq!(eval(".status.conditions[1].type", &o), vec![json!("Ready")]);
        assert_eq!(
            eval(".status.conditions[*].type", &o),
            vec![json!("Synced"), json!("Ready")]
        );
        assert!(eval(".status.missing", &o).is_empty());
    }

    #[test]
    fn ages_are_rendered_like_kubectl() {
        let ten_min_ago = jiff::Timestamp::now() - jiff::SignedDuration::from_secs(600);
        assert_eq!(human_age(&ten_min_ago.to_string()), "10m");
    }
}
