//! The two pagination styles of reference 4.5: offset/limit pages and K8s `continue` tokens.

use serde_json::{Value, json};

use crate::errors::{ApiError, ApiResult};
use crate::validate::Query;

/// `{current, pages, size, total, data}`: `current` is the 0-based page number and `size`
/// the page size, as in the documented notebook list examples.
pub fn offset_page(total: usize, offset: usize, limit: usize, data: Vec<Value>) -> Value {
    let pages = if limit == 0 { 0 } else { total.div_ceil(limit) };
    let current = offset.checked_div(limit).unwrap_or(0);
    json!({"current": current, "pages": pages, "size": limit, "total": total, "data": data})
}

/// The same page shape as a typed struct, for lists serialised without building a `Value`.
#[derive(serde::Serialize)]
pub struct OffsetPage<T> {
    current: usize,
    pages: usize,
    size: usize,
    total: usize,
    data: Vec<T>,
}

impl<T> OffsetPage<T> {
    pub fn new(total: usize, offset: usize, limit: usize, data: Vec<T>) -> Self {
        let pages = if limit == 0 { 0 } else { total.div_ceil(limit) };
        OffsetPage {
            current: offset.checked_div(limit).unwrap_or(0),
            pages,
            size: limit,
            total,
            data,
        }
    }
}

/// Read `offset` and `limit` with a default and maximum limit.
pub fn offset_limit(q: &Query, default_limit: i64, max_limit: i64) -> ApiResult<(usize, usize)> {
    let offset = q.int("offset", 0, i64::from(i32::MAX))?.unwrap_or(0);
    let limit = q.int("limit", 1, max_limit)?.unwrap_or(default_limit);
    Ok((offset as usize, limit as usize))
}

/// The `continue` token is the index of the next item, opaque to clients.
pub fn continue_start(q: &Query) -> ApiResult<usize> {
    match q.get("continue").filter(|c| !c.is_empty()) {
        None => Ok(0),
        Some(tok) => tok
            .strip_prefix("c-")
            .and_then(|n| n.parse().ok())
            .ok_or_else(|| ApiError::invalid("continue", "unknown continue token")),
    }
}

/// Slice `items` from `start`, returning the page and the list `metadata`.
pub fn continue_page<T>(items: Vec<T>, start: usize, limit: usize) -> (Vec<T>, Value) {
    let total = items.len();
    let end = start.saturating_add(limit).min(total);
    let page: Vec<T> = items
        .into_iter()
        .skip(start)
        .take(end.saturating_sub(start))
        .collect();
    let remaining = total.saturating_sub(end);
    let token = if remaining > 0 {
        format!("c-{end}")
    } else {
        String::new()
    };
    (page, json!({"continue": token, "remainingItemCount": remaining}))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offset_pages_report_page_number_count_and_total() {
        let v = offset_page(25, 20, 10, vec![]);
        assert_eq!(v["current"], 2);
        assert_eq!(v["pages"], 3);
        assert_eq!(v["total"], 25);
        assert_eq!(v["size"], 10);
    }

    #[test]
    fn continue_tokens_walk_the_list_and_end_empty() {
        let (page, meta) = continue_page((0..5).collect(), 0, 2);
        assert_eq!(page, vec![0, 1]);
        assert_eq!(meta["continue"], "c-2");
        assert_eq!(meta["remainingItemCount"], 3);
        let q = Query::parse(Some("continue=c-4"));
        let (page, meta) = continue_page((0..5).collect(), continue_start(&q).unwrap(), 2);
        assert_eq!(page, vec![4]);
        assert_eq!(meta["continue"], "");
    }

    #[test]
    fn a_garbage_continue_token_is_a_named_400() {
        let q = Query::parse(Some("continue=zzz"));
        assert!(continue_start(&q).unwrap_err().message.contains("'continue'"));
    }
}
