//! Listings. GCS pages (`pageToken`) are not trusted for page sizes:
//! servers differ on whether `maxResults` counts prefixes (fake-gcs-server
//! returns every prefix on every page). So plugbay keeps its own cursor
//! (the last key or prefix handed out, as in the memory and fs stores),
//! turns it into `startOffset` for the next request, and cuts pages itself
//! with the shared page builder.

use plugbay_core::{ErrorKind, Result};
use serde::Deserialize;

use super::client::{GcsClient, ObjectResource, PROVIDER, query};
use crate::paging::{Flow, PageBuilder};
use crate::types::{ListOptions, ListPage};

/// GCS's largest page.
pub(crate) const MAX_PAGE: usize = 1000;

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct ListReply {
    #[serde(default)]
    items: Vec<ObjectResource>,
    #[serde(default)]
    prefixes: Vec<String>,
    #[serde(default)]
    next_page_token: Option<String>,
}

pub(crate) async fn list(client: &GcsClient, prefix: &str, opts: &ListOptions) -> Result<ListPage> {
    let mut builder = PageBuilder::new(prefix, opts, MAX_PAGE)?;
    let limit = opts.max_keys.unwrap_or(MAX_PAGE).min(MAX_PAGE);
    let mut base = Vec::new();
    if !prefix.is_empty() {
        base.push(("prefix", prefix.to_owned()));
    }
    if let Some(d) = &opts.delimiter {
        base.push(("delimiter", d.clone()));
    }
    // One more than the page, to know whether another page follows.
    base.push(("maxResults", (limit + 1).min(MAX_PAGE).to_string()));
    if let Some(offset) = start_offset(opts) {
        base.push(("startOffset", offset));
    }
    let call = client.call("list");
    let mut page_token: Option<String> = None;
    loop {
        let mut pairs = base.clone();
        if let Some(t) = &page_token {
            pairs.push(("pageToken", t.clone()));
        }
        let url = format!("{}{}", client.objects_url(), query(&pairs));
        let response = client.execute(&call, |c| c.get(&url)).await.map_err(|e| {
            if e.kind() == ErrorKind::NotFound {
                let bucket = client.config.bucket.clone();
                e.with_kind(ErrorKind::Config)
                    .with_context("bucket", bucket)
            } else {
                e
            }
        })?;
        let reply: ListReply = response
            .json()
            .map_err(|e| e.with_provider(PROVIDER).with_operation("list"))?;
        if offer_all(&mut builder, reply.items, reply.prefixes)? == Flow::Full {
            return Ok(builder.finish());
        }
        match reply.next_page_token {
            Some(t) if !t.is_empty() => page_token = Some(t),
            _ => return Ok(builder.finish()),
        }
    }
}

/// Offer objects and prefixes to the builder in merged byte order.
fn offer_all(
    builder: &mut PageBuilder,
    mut items: Vec<ObjectResource>,
    mut prefixes: Vec<String>,
) -> Result<Flow> {
    items.sort_by(|a, b| a.name.cmp(&b.name));
    prefixes.sort();
    let mut items = items.into_iter().peekable();
    let mut prefixes = prefixes.into_iter().peekable();
    loop {
        let take_item = match (items.peek(), prefixes.peek()) {
            (Some(i), Some(p)) => i.name.as_str() < p.as_str(),
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (None, None) => return Ok(Flow::Continue),
        };
        let flow = if take_item {
            let Some(item) = items.next() else { continue };
            let name = item.name.clone();
            builder.offer(&name, || match item.to_meta() {
                Ok(meta) => Ok(Some(meta)),
                // Names plugbay keys cannot express (`a//b`, written by
                // other tools) are left out rather than failing the page.
                Err(e) if e.kind() == ErrorKind::Protocol && crate::Key::new(&name).is_err() => {
                    tracing::warn!(object = %name, "skipping an object whose name is not a valid key");
                    Ok(None)
                }
                Err(e) => Err(e),
            })?
        } else {
            let Some(group) = prefixes.next() else {
                continue;
            };
            builder.offer_group(group)
        };
        if flow == Flow::Full {
            return Ok(Flow::Full);
        }
    }
}

/// Where the next request may start: at the cursor key (the builder skips
/// it), just past every key under a cursor prefix, or at `start_after`.
fn start_offset(opts: &ListOptions) -> Option<String> {
    match (&opts.continuation_token, &opts.start_after) {
        (Some(token), _) => {
            if let Some(key) = token.strip_prefix("k:") {
                Some(key.to_owned())
            } else {
                token.strip_prefix("p:").and_then(successor)
            }
        }
        (None, Some(after)) => Some(after.clone()),
        (None, None) => None,
    }
}

/// The smallest string greater than every string starting with `prefix`
/// (its last character incremented), when there is one.
fn successor(prefix: &str) -> Option<String> {
    let mut chars: Vec<char> = prefix.chars().collect();
    while let Some(last) = chars.pop() {
        let next = (u32::from(last) + 1..=0x10FFFF).find_map(char::from_u32);
        if let Some(next) = next {
            chars.push(next);
            return Some(chars.into_iter().collect());
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_from_cursors() {
        assert_eq!(successor("a/b/").as_deref(), Some("a/b0"));
        assert_eq!(successor("").as_deref(), None);
        let token = |t: &str| ListOptions::new().continuation_token(t);
        assert_eq!(start_offset(&token("k:a/x")).as_deref(), Some("a/x"));
        assert_eq!(start_offset(&token("p:a/")).as_deref(), Some("a0"));
        assert_eq!(
            start_offset(&ListOptions::new().start_after("q")).as_deref(),
            Some("q")
        );
        assert_eq!(start_offset(&ListOptions::new()), None);
    }
}
