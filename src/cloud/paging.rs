//! The three pagination styles of ModelArts (reference 4.5):
//! - v1 offset/limit pages `{current, pages, size, total, data[]}` → [`Page`] and [`list_all`];
//! - K8s-style `limit` + `continue` tokens (`metadata.continue`) → [`ListMeta`] and
//!   [`list_all_continued`];
//! - the unpaged v2 pool list, which needs no helper.

use std::{future::Future, ops::ControlFlow};

use serde::Deserialize;

use super::error::Error;

/// Stop walking after this many pages: a server that never stops paging must not hang a
/// reconcile loop.
const MAX_PAGES: usize = 10_000;

/// One page of a v1 list. `current` is the page number; `offset` in requests counts records.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default)]
#[serde(bound(deserialize = "T: Deserialize<'de>"))]
pub struct Page<T> {
    pub current: Option<i64>,
    pub pages: Option<i64>,
    pub size: Option<i64>,
    pub total: Option<i64>,
    #[serde(deserialize_with = "crate::cloud::de::nullable")]
    pub data: Vec<T>,
}

impl<T> Default for Page<T> {
    fn default() -> Self {
        Page {
            current: None,
            pages: None,
            size: None,
            total: None,
            data: Vec::new(),
        }
    }
}

/// Offset and limit of one page request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRequest {
    /// Record offset (not a page number).
    pub offset: u32,
    pub limit: u32,
}

impl PageRequest {
    pub fn first(limit: u32) -> Self {
        PageRequest { offset: 0, limit }
    }
}

/// Fetch every record of an offset/limit list, `page_size` at a time.
///
/// Stops at an empty page, a short page, or when `total` records have been read.
pub async fn list_all<T, F, Fut>(page_size: u32, fetch: F) -> Result<Vec<T>, Error>
where
    F: FnMut(PageRequest) -> Fut,
    Fut: Future<Output = Result<Page<T>, Error>>,
{
    let mut items = Vec::new();
    for_each_page(page_size, fetch, |page| {
        items.extend(page);
        ControlFlow::Continue(())
    })
    .await?;
    Ok(items)
}

/// As [`list_all`], but hands each page to `on_page` as it arrives instead of collecting them:
/// a caller that indexes the records (the drift poller) then holds one page at a time, not the
/// whole listing beside its index. `on_page` can end the listing early (`Break`: it found what
/// it looked for). Returns whether the listing reached its end (not when cut off at
/// `MAX_PAGES`).
pub async fn for_each_page<T, F, Fut>(
    page_size: u32,
    mut fetch: F,
    mut on_page: impl FnMut(Vec<T>) -> ControlFlow<()>,
) -> Result<bool, Error>
where
    F: FnMut(PageRequest) -> Fut,
    Fut: Future<Output = Result<Page<T>, Error>>,
{
    let page_size = page_size.max(1);
    let mut read = 0usize;
    let mut offset: u32 = 0;
    for _ in 0..MAX_PAGES {
        let page = fetch(PageRequest {
            offset,
            limit: page_size,
        })
        .await?;
        let got = page.data.len();
        read += got;
        let flow = on_page(page.data);
        offset = offset.saturating_add(got as u32);
        let reached_total = page.total.is_some_and(|total| read as i64 >= total);
        if got == 0 || got < page_size as usize || reached_total {
            return Ok(true);
        }
        if flow.is_break() {
            return Ok(false);
        }
    }
    // Cut off at MAX_PAGES: not the end, so nothing may be concluded from what it did not show.
    Ok(false)
}

/// `metadata` of a K8s-style list.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ListMeta {
    #[serde(rename = "continue")]
    pub continue_token: Option<String>,
    pub remaining_item_count: Option<i64>,
}

impl ListMeta {
    /// The token for the next page, or `None` on the last page (absent or empty token).
    pub fn next(&self) -> Option<&str> {
        self.continue_token.as_deref().filter(|t| !t.is_empty())
    }
}

/// Fetch every item of a `continue`-token list. `fetch` gets the token of the page to read
/// (`None` for the first) and returns the items and the list metadata.
pub async fn list_all_continued<T, F, Fut>(mut fetch: F) -> Result<Vec<T>, Error>
where
    F: FnMut(Option<String>) -> Fut,
    Fut: Future<Output = Result<(Vec<T>, ListMeta), Error>>,
{
    let mut items = Vec::new();
    let mut token: Option<String> = None;
    for _ in 0..MAX_PAGES {
        let (page, meta) = fetch(token.clone()).await?;
        items.extend(page);
        match meta.next() {
            // A repeated token would loop forever.
            Some(next) if token.as_deref() != Some(next) => token = Some(next.to_owned()),
            _ => break,
        }
    }
    Ok(items)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(data: Vec<u32>, total: Option<i64>) -> Page<u32> {
        Page {
            data,
            total,
            ..Page::default()
        }
    }

    #[tokio::test]
    async fn list_all_walks_offsets_until_a_short_page() {
        let all: Vec<u32> = (0..25).collect();
        let mut requests = Vec::new();
        let got = list_all(10, |req| {
            requests.push(req);
            let slice: Vec<u32> = all
                .iter()
                .copied()
                .skip(req.offset as usize)
                .take(req.limit as usize)
                .collect();
            async move { Ok(page(slice, None)) }
        })
        .await
        .expect("no error");
        assert_eq!(got, all);
        let offsets: Vec<u32> = requests.iter().map(|r| r.offset).collect();
        assert_eq!(offsets, vec![0, 10, 20]);
    }

    #[tokio::test]
    async fn list_all_stops_when_total_is_reached_on_a_full_page() {
        let mut calls = 0;
        let got = list_all(2, |_| {
            calls += 1;
            async { Ok(page(vec![1, 2], Some(2))) }
        })
        .await
        .expect("no error");
        assert_eq!((got, calls), (vec![1, 2], 1));
    }

    #[tokio::test]
    async fn pages_are_handed_over_one_at_a_time_and_counted() {
        let mut pages = Vec::new();
        let read = for_each_page(
            2,
            |req| async move {
                let data: Vec<u32> = (req.offset..5).take(req.limit as usize).collect();
                Ok(page(data, Some(5)))
            },
            |p| {
                pages.push(p);
                ControlFlow::Continue(())
            },
        )
        .await
        .expect("no error");
        assert_eq!((read, pages), (true, vec![vec![0, 1], vec![2, 3], vec![4]]));
    }

    #[tokio::test]
    async fn a_listing_cut_off_at_the_page_limit_is_not_reported_complete() {
        // A server that pages forever (full pages, no total): the walk stops at MAX_PAGES, and
        // a caller must not take what it did not show as gone.
        let mut pages = 0usize;
        let ended = for_each_page(
            1,
            |_| async { Ok(page(vec![0u32], None)) },
            |_| {
                pages += 1;
                ControlFlow::Continue(())
            },
        )
        .await
        .expect("no error");
        assert_eq!((ended, pages), (false, MAX_PAGES));
    }

    #[tokio::test]
    async fn a_listing_ends_early_when_its_reader_has_what_it_wanted() {
        let mut calls = 0;
        let mut pages = Vec::new();
        let ended = for_each_page(
            2,
            |req| {
                calls += 1;
                async move {
                    let data: Vec<u32> = (req.offset..9).take(req.limit as usize).collect();
                    Ok(page(data, Some(9)))
                }
            },
            |p| {
                let found = p.contains(&3);
                pages.push(p);
                if found {
                    ControlFlow::Break(())
                } else {
                    ControlFlow::Continue(())
                }
            },
        )
        .await
        .expect("no error");
        assert_eq!((ended, calls), (false, 2), "stopped after the page holding 3");
        assert_eq!(pages, vec![vec![0, 1], vec![2, 3]]);
    }

    #[tokio::test]
    async fn continued_lists_follow_tokens_until_an_empty_one() {
        let got = list_all_continued(|token| async move {
            let (items, next) = match token.as_deref() {
                None => (vec![1], Some("a".to_owned())),
                Some("a") => (vec![2], Some("b".to_owned())),
                _ => (vec![3], Some(String::new())),
            };
            Ok((
                items,
                ListMeta {
                    continue_token: next,
                    remaining_item_count: None,
                },
            ))
        })
        .await
        .expect("no error");
        assert_eq!(got, vec![1, 2, 3]);
    }

    #[tokio::test]
    async fn a_repeated_continue_token_ends_the_walk() {
        let mut calls = 0;
        let got: Vec<u32> = list_all_continued(|_| {
            calls += 1;
            async {
                Ok((
                    vec![7],
                    ListMeta {
                        continue_token: Some("same".to_owned()),
                        remaining_item_count: Some(1),
                    },
                ))
            }
        })
        .await
        .expect("no error");
        assert_eq!((got.len(), calls), (2, 2));
    }
}
