//! Paging through list endpoints.
//!
//! Lists take `page` and `per_page` (max 200, `shared/parameters.yml`); answers carry
//! `links.pages.next` (`shared/pages.yml`), which may be missing, `{}` or `{"pages": {}}` on the
//! last page, and `meta.total` (`shared/meta.yml`). We read only the page *number* from `next`
//! and send our own request again against our own base URL, so a misconfigured proxy or a
//! hostile answer cannot redirect us (or our token) elsewhere. A loop, a backwards link or more
//! than [`MAX_PAGES`] pages stops with [`Error::Pagination`].

use serde::Deserialize;
use serde::de::DeserializeOwned;

use crate::client::{Client, Request, decode};
use crate::error::{Error, Result};

/// Items asked for per page.
pub const PER_PAGE: u32 = 200;

/// Most pages one all-items call follows (200 × 500 = 100 000 items).
pub const MAX_PAGES: u32 = 500;

/// One page of a list.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Page<T> {
    /// The items on this page.
    pub items: Vec<T>,
    /// This page's number (1-based).
    pub page: u32,
    /// The next page's number, when there is one.
    pub next_page: Option<u32>,
    /// `meta.total`: all items across pages, when given.
    pub total: Option<u64>,
}

#[derive(Deserialize)]
struct Envelope {
    #[serde(default)]
    links: Option<Links>,
    #[serde(default)]
    meta: Option<Meta>,
}

#[derive(Deserialize)]
struct Links {
    #[serde(default)]
    pages: Option<Pages>,
}

#[derive(Deserialize)]
struct Pages {
    #[serde(default)]
    next: Option<String>,
}

#[derive(Deserialize)]
struct Meta {
    #[serde(default)]
    total: Option<u64>,
}

impl Client {
    /// One page of `req`'s list; items are under `key`.
    pub(crate) async fn page<T: DeserializeOwned>(
        &self,
        req: &Request,
        key: &str,
        page: u32,
    ) -> Result<Page<T>> {
        if page == 0 {
            return Err(Error::InvalidInput("page numbers start at 1".into()));
        }
        let req = req.clone().query("page", page).query("per_page", PER_PAGE);
        let resp = self.send(&req).await?;
        let env: Envelope = decode(&req, &resp.body)?;
        let items: Vec<T> = match crate::client::take_key::<Option<Vec<T>>>(&req, &resp.body, key) {
            Ok(items) => items.unwrap_or_default(),
            // A list answer without its key is an empty page, not an error.
            Err(Error::Decode { detail, .. }) if detail.starts_with("no `") => Vec::new(),
            Err(e) => return Err(e),
        };
        let next = env.links.and_then(|l| l.pages).and_then(|p| p.next);
        let next_page = match next {
            None => None,
            Some(link) => Some(page_number(&link).ok_or_else(|| Error::Pagination {
                path: req.path(),
                detail: format!("`links.pages.next` = `{link}` has no page number"),
            })?),
        };
        if let Some(n) = next_page
            && n <= page
        {
            return Err(Error::Pagination {
                path: req.path(),
                detail: format!("page {page} links back to page {n}"),
            });
        }
        Ok(Page {
            items,
            page,
            next_page,
            total: env.meta.and_then(|m| m.total),
        })
    }

    /// Every item of `req`'s list, following `links.pages.next`.
    pub(crate) async fn all<T: DeserializeOwned>(
        &self,
        req: &Request,
        key: &str,
    ) -> Result<Vec<T>> {
        let mut out = Vec::new();
        let mut page = 1;
        for _ in 0..MAX_PAGES {
            let p = self.page::<T>(req, key, page).await?;
            out.extend(p.items);
            match p.next_page {
                Some(n) => page = n,
                None => return Ok(out),
            }
        }
        Err(Error::Pagination {
            path: req.path(),
            detail: format!("more than {MAX_PAGES} pages; narrow the list with a filter"),
        })
    }
}

/// The `page` query parameter of a link.
fn page_number(link: &str) -> Option<u32> {
    let url = url::Url::parse(link)
        .or_else(|_| url::Url::parse("http://placeholder/").and_then(|b| b.join(link)))
        .ok()?;
    url.query_pairs()
        .find(|(k, _)| k == "page")
        .and_then(|(_, v)| v.parse().ok())
        .filter(|n| *n >= 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_numbers_from_links() {
        assert_eq!(
            page_number("https://api.digitalocean.com/v2/droplets?page=2&per_page=200"),
            Some(2)
        );
        assert_eq!(page_number("/v2/droplets?per_page=1&page=3"), Some(3));
        assert_eq!(
            page_number("https://api.digitalocean.com/v2/droplets"),
            None
        );
        assert_eq!(page_number("https://x/?page=0"), None);
        assert_eq!(page_number("https://x/?page=abc"), None);
    }
}
