//! Downloads: the object's resource first (size, generation, content type,
//! metadata), conditions checked against it, then the bytes with
//! `alt=media`, pinned to that generation with `ifGenerationMatch` so the
//! body can never come from another version. An overwrite between the two
//! requests (412/404 on the download) starts over, at most three times.
//! The body has no total time cap (only the client's read timeout bounds
//! it) and a body cut mid-stream resumes (see [`super::resume`]).

use std::sync::Arc;

use futures::StreamExt;
use plugbay_core::{Error, ErrorKind, Result};

use super::client::{GcsClient, PROVIDER, query, with_key};
use super::resume::{ReadState, idle_body};
use crate::key::Key;
use crate::types::{ByteRange, ByteStream, GetOptions, GetResult, ObjectMeta};

const ATTEMPTS: u32 = 3;

pub(crate) async fn get(
    client: &Arc<GcsClient>,
    key: &Key,
    opts: &GetOptions,
) -> Result<GetResult> {
    let mut attempt = 0;
    loop {
        attempt += 1;
        let resource = client.get_resource(key).await?;
        let meta = resource.to_meta()?;
        opts.check(&meta)
            .map_err(|e| e.with_provider(PROVIDER).with_operation("get"))?;
        let range = match &opts.range {
            Some(r) => r
                .resolve(meta.size)
                .map_err(|e| with_key(e.with_provider(PROVIDER).with_operation("get"), key))?,
            None => 0..meta.size,
        };
        if range.is_empty() {
            let body = futures::stream::empty().boxed();
            return Ok(GetResult::new(meta, range, body));
        }
        match download(client, key, &meta, range.clone(), opts.range.is_some()).await {
            Ok(result) => return Ok(result),
            Err(e)
                if attempt < ATTEMPTS
                    && matches!(
                        e.kind(),
                        ErrorKind::PreconditionFailed | ErrorKind::NotFound
                    ) =>
            {
                tracing::debug!(attempt, "object changed between metadata and download");
            }
            Err(e) => return Err(e),
        }
    }
}

async fn download(
    client: &Arc<GcsClient>,
    key: &Key,
    meta: &ObjectMeta,
    range: std::ops::Range<u64>,
    ranged: bool,
) -> Result<GetResult> {
    let url = media_url(client, key, meta.version.as_deref());
    let header = ranged
        .then(|| ByteRange::new(range.clone()).to_http_header())
        .flatten();
    // The per-attempt timeout bounds only the wait for the answer's head:
    // a large body may take long, the read timeout catches stalls, and a
    // cut body resumes.
    let call = client.call("get").head_timeout_only();
    let response = client
        .send(&call, |c| {
            let rb = c.get(&url);
            match &header {
                Some(h) => rb.header("range", h),
                None => rb,
            }
        })
        .await
        .map_err(|e| with_key(e, key))?;
    let status = response.status().as_u16();
    if ranged && status != 206 && !(range.start == 0 && range.end == meta.size) {
        return Err(Error::protocol(format!(
            "asked for bytes {}..{} and got HTTP {status} instead of 206",
            range.start, range.end
        ))
        .with_provider(PROVIDER)
        .with_operation("get")
        .with_context("key", key.as_str()));
    }
    let state = ReadState {
        client: client.clone(),
        key: key.clone(),
        generation: meta.version.clone(),
        size: meta.size,
        pos: range.start,
        end: range.end,
        resumes_left: client.config.read_resume_attempts,
        body: Some(idle_body(client, response)),
    };
    let body = futures::stream::unfold(state, ReadState::next).boxed();
    let body = checked(body, range.end - range.start, key.as_str().to_owned());
    Ok(GetResult::new(meta.clone(), range, body))
}

/// The `alt=media` URL of `key`, pinned to `generation` when known.
pub(super) fn media_url(client: &GcsClient, key: &Key, generation: Option<&str>) -> String {
    let mut pairs = vec![("alt", "media".to_owned())];
    if let Some(generation) = generation {
        pairs.push(("ifGenerationMatch", generation.to_owned()));
    }
    format!("{}{}", client.object_url(key.as_str()), query(&pairs))
}

/// Fail the stream with `Protocol` when it ends short of (or runs past) the
/// announced length, so a cut download never passes for a whole one, resumed
/// or not.
fn checked(inner: ByteStream, expected: u64, key: String) -> ByteStream {
    futures::stream::unfold((inner, 0u64, false), move |(mut inner, seen, done)| {
        let key = key.clone();
        async move {
            if done {
                return None;
            }
            let short = |what: String| {
                Error::protocol(what)
                    .with_provider(PROVIDER)
                    .with_operation("get")
                    .with_context("key", key.clone())
            };
            match inner.next().await {
                Some(Ok(chunk)) => {
                    let seen = seen + chunk.len() as u64;
                    if seen > expected {
                        let e = short(format!("body ran past the {expected} bytes announced"));
                        return Some((Err(e), (inner, seen, true)));
                    }
                    Some((Ok(chunk), (inner, seen, false)))
                }
                Some(Err(e)) => Some((Err(e), (inner, seen, true))),
                None if seen < expected => {
                    let e = short(format!("body ended after {seen} of {expected} bytes"));
                    Some((Err(e), (inner, seen, true)))
                }
                None => None,
            }
        }
    })
    .boxed()
}
