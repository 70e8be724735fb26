//! Input parsing that never panics and always names the offending field (ModelArts.0104).

use serde_json::{Map, Value};

use crate::errors::{ApiError, ApiResult};

/// Query parameters as received (percent-decoded), in order, duplicates kept.
#[derive(Debug, Default, Clone)]
pub struct Query(Vec<(String, String)>);

impl Query {
    pub fn parse(raw: Option<&str>) -> Self {
        let pairs = raw
            .unwrap_or("")
            .split('&')
            .filter(|p| !p.is_empty())
            .map(|p| {
                let (k, v) = p.split_once('=').unwrap_or((p, ""));
                let dec = |s: &str| {
                    percent_encoding::percent_decode_str(s)
                        .decode_utf8_lossy()
                        .into_owned()
                };
                (dec(k), dec(v))
            })
            .collect();
        Query(pairs)
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    /// An optional integer within `[min, max]`.
    pub fn int(&self, name: &str, min: i64, max: i64) -> ApiResult<Option<i64>> {
        let Some(raw) = self.get(name) else {
            return Ok(None);
        };
        let n: i64 = raw
            .parse()
            .map_err(|_| ApiError::invalid(name, format!("'{raw}' is not an integer")))?;
        if n < min || n > max {
            return Err(ApiError::invalid(name, format!("{n} is outside [{min}, {max}]")));
        }
        Ok(Some(n))
    }

    pub fn enum_of(&self, name: &str, allowed: &[&str]) -> ApiResult<Option<&str>> {
        match self.get(name) {
            None => Ok(None),
            Some(v) => one_of(name, v, allowed).map(Some),
        }
    }
}

pub fn one_of<'a>(field: &str, v: &'a str, allowed: &[&str]) -> ApiResult<&'a str> {
    if allowed.contains(&v) {
        Ok(v)
    } else {
        Err(ApiError::invalid(
            field,
            format!("'{v}' is not one of {}", allowed.join(", ")),
        ))
    }
}

pub fn parse_body(bytes: &[u8]) -> ApiResult<Value> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::invalid("body", "a JSON request body is required"));
    }
    serde_json::from_slice(bytes).map_err(|e| ApiError::invalid("body", format!("not valid JSON: {e}")))
}

/// Body that may be absent (start/stop calls send none).
pub fn parse_optional_body(bytes: &[u8]) -> ApiResult<Value> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        Ok(Value::Null)
    } else {
        parse_body(bytes)
    }
}

/// A JSON object plus the dotted path used to name its fields in errors.
#[derive(Clone, Copy)]
pub struct Obj<'a> {
    map: &'a Map<String, Value>,
    path: &'a str,
}

static EMPTY: std::sync::LazyLock<Map<String, Value>> = std::sync::LazyLock::new(Map::new);

impl<'a> Obj<'a> {
    pub fn root(v: &'a Value) -> ApiResult<Self> {
        match v {
            Value::Object(map) => Ok(Obj { map, path: "" }),
            _ => Err(ApiError::invalid("body", "must be a JSON object")),
        }
    }

    pub fn empty() -> Obj<'static> {
        Obj {
            map: &EMPTY,
            path: "",
        }
    }

    pub fn name(&self, field: &str) -> String {
        if self.path.is_empty() {
            field.to_string()
        } else {
            format!("{}.{field}", self.path)
        }
    }

    pub fn raw(&self, field: &str) -> Option<&'a Value> {
        self.map.get(field).filter(|v| !v.is_null())
    }

    pub fn has(&self, field: &str) -> bool {
        self.raw(field).is_some()
    }

    pub fn opt_str(&self, field: &str) -> ApiResult<Option<&'a str>> {
        match self.raw(field) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(ApiError::invalid(&self.name(field), "must be a string")),
        }
    }

    pub fn req_str(&self, field: &str) -> ApiResult<&'a str> {
        match self.opt_str(field)? {
            Some(s) if !s.is_empty() => Ok(s),
            _ => Err(ApiError::invalid(&self.name(field), "is required")),
        }
    }

    pub fn opt_enum(&self, field: &str, allowed: &[&str]) -> ApiResult<Option<&'a str>> {
        match self.opt_str(field)? {
            None => Ok(None),
            Some(v) => one_of(&self.name(field), v, allowed).map(Some),
        }
    }

    pub fn req_enum(&self, field: &str, allowed: &[&str]) -> ApiResult<&'a str> {
        let v = self.req_str(field)?;
        one_of(&self.name(field), v, allowed)
    }

    pub fn opt_i64(&self, field: &str, min: i64, max: i64) -> ApiResult<Option<i64>> {
        match self.raw(field) {
            None => Ok(None),
            Some(v) => {
                let n = v
                    .as_i64()
                    .ok_or_else(|| ApiError::invalid(&self.name(field), "must be an integer"))?;
                if n < min || n > max {
                    return Err(ApiError::invalid(
                        &self.name(field),
                        format!("{n} is outside [{min}, {max}]"),
                    ));
                }
                Ok(Some(n))
            }
        }
    }

    pub fn opt_f64(&self, field: &str) -> ApiResult<Option<f64>> {
        match self.raw(field) {
            None => Ok(None),
            Some(v) => v
                .as_f64()
                .map(Some)
                .ok_or_else(|| ApiError::invalid(&self.name(field), "must be a number")),
        }
    }

    pub fn opt_bool(&self, field: &str) -> ApiResult<Option<bool>> {
        match self.raw(field) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(_) => Err(ApiError::invalid(&self.name(field), "must be a boolean")),
        }
    }

    /// A nested object. `path_buf` keeps the dotted name alive for the child's messages.
    pub fn opt_obj(&self, field: &str, path_buf: &'a mut String) -> ApiResult<Option<Obj<'a>>> {
        *path_buf = self.name(field);
        match self.map.get(field) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Object(map)) => Ok(Some(Obj {
                map,
                path: path_buf.as_str(),
            })),
            Some(_) => Err(ApiError::invalid(path_buf, "must be an object")),
        }
    }

    pub fn opt_arr(&self, field: &str) -> ApiResult<Option<&'a Vec<Value>>> {
        match self.raw(field) {
            None => Ok(None),
            Some(Value::Array(a)) => Ok(Some(a)),
            Some(_) => Err(ApiError::invalid(&self.name(field), "must be an array")),
        }
    }

    pub fn opt_str_list(&self, field: &str) -> ApiResult<Option<Vec<String>>> {
        let Some(arr) = self.opt_arr(field)? else {
            return Ok(None);
        };
        arr.iter()
            .enumerate()
            .map(|(i, v)| {
                v.as_str().map(str::to_string).ok_or_else(|| {
                    ApiError::invalid(&format!("{}[{i}]", self.name(field)), "must be a string")
                })
            })
            .collect::<ApiResult<Vec<_>>>()
            .map(Some)
    }
}

pub fn check_len(field: &str, s: &str, min: usize, max: usize) -> ApiResult<()> {
    let n = s.chars().count();
    if n < min || n > max {
        return Err(ApiError::invalid(
            field,
            format!("length {n} is outside [{min}, {max}]"),
        ));
    }
    Ok(())
}

/// Notebook names: letters (Chinese included), digits, `-` and `_`, 1–128 characters.
pub fn check_notebook_name(field: &str, name: &str) -> ApiResult<()> {
    check_len(field, name, 1, 128)?;
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_alphanumeric() || *c == '-' || *c == '_'))
    {
        return Err(ApiError::invalid(
            field,
            format!("character '{c}' is not allowed (letters, digits, '-', '_')"),
        ));
    }
    Ok(())
}

fn tag_char_ok(c: char, value: bool) -> bool {
    c.is_alphanumeric() || " _.:=+-@".contains(c) || (value && c == '/')
}

/// Tag rules of reference 1.11 (shared by every family's tag API).
pub fn check_tag(field: &str, key: &str, value: Option<&str>) -> ApiResult<()> {
    let kf = format!("{field}.key");
    check_len(&kf, key, 1, 128)?;
    if key.starts_with(' ') || key.ends_with(' ') {
        return Err(ApiError::invalid(&kf, "must not start or end with a space"));
    }
    if key.starts_with("_sys_") {
        return Err(ApiError::invalid(&kf, "must not start with _sys_"));
    }
    if let Some(c) = key.chars().find(|c| !tag_char_ok(*c, false)) {
        return Err(ApiError::invalid(&kf, format!("character '{c}' is not allowed")));
    }
    if let Some(v) = value {
        let vf = format!("{field}.value");
        check_len(&vf, v, 0, 255)?;
        if let Some(c) = v.chars().find(|c| !tag_char_ok(*c, true)) {
            return Err(ApiError::invalid(&vf, format!("character '{c}' is not allowed")));
        }
    }
    Ok(())
}

/// `{"tags":[{"key","value"}]}` → validated pairs. `value_required` for pool tag create.
pub fn parse_tags(body: &Value, value_required: bool) -> ApiResult<Vec<(String, Option<String>)>> {
    let root = Obj::root(body)?;
    let arr = root
        .opt_arr("tags")?
        .ok_or_else(|| ApiError::invalid("tags", "is required"))?;
    if arr.is_empty() {
        return Err(ApiError::invalid("tags", "must not be empty"));
    }
    let mut out = Vec::with_capacity(arr.len());
    for (i, t) in arr.iter().enumerate() {
        let field = format!("tags[{i}]");
        let Value::Object(map) = t else {
            return Err(ApiError::invalid(&field, "must be an object"));
        };
        let obj = Obj { map, path: &field };
        let key = obj.req_str("key")?;
        let value = if value_required {
            Some(obj.req_str("value")?)
        } else {
            obj.opt_str("value")?
        };
        check_tag(&field, key, value)?;
        out.push((key.to_string(), value.map(str::to_string)));
    }
    Ok(out)
}

pub fn is_uuid(s: &str) -> bool {
    uuid::Uuid::parse_str(s).is_ok()
}

#[cfg(test)]
#[path = "validate_tests.rs"]
mod tests;
