//! `/v1/files`: the caller's files, stored under `users/{subject}/` so no
//! user can name another's. Uploads and downloads stream: a body is never
//! held whole in memory.

use std::time::UNIX_EPOCH;

use axum::body::Body as HttpBody;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use futures::StreamExt as _;
use plugbay::core::{Error, ErrorKind};
use plugbay::storage::{
    Body, ByteRange, GetOptions, Key, ListOptions, ObjectMeta, ObjectStore as _, PutMode,
    PutOptions,
};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::AppState;
use crate::error::{ApiError, ApiPath, ApiQuery, ApiResult};
use crate::middleware::AuthUser;

/// The file routes.
pub fn router() -> Router<AppState> {
    Router::new().route("/v1/files", get(list)).route(
        "/v1/files/{*key}",
        get(download).head(head).put(upload).delete(remove),
    )
}

const MAX_LIST: usize = 1000;

/// `users/{subject}/`, with the subject percent-encoded so that it is
/// exactly one key segment whatever it contains.
fn namespace(user: &AuthUser) -> String {
    let subject = user.subject();
    // A subject of only dots would be a `.` or `..` segment.
    let dots_ok = !subject.bytes().all(|b| b == b'.');
    let mut ns = String::from("users/");
    for byte in subject.bytes() {
        if byte.is_ascii_alphanumeric()
            || matches!(byte, b'-' | b'_' | b'@' | b'|' | b':')
            || (byte == b'.' && dots_ok)
        {
            ns.push(char::from(byte));
        } else {
            ns.push_str(&format!("%{byte:02X}"));
        }
    }
    ns.push('/');
    ns
}

fn user_key(user: &AuthUser, key: &str) -> ApiResult<Key> {
    // Validate the caller's part alone first, so `..` or `/x` is refused
    // rather than merged into the namespace.
    Key::new(key)?;
    Ok(Key::new(format!("{}{key}", namespace(user)))?)
}

fn meta_json(ns: &str, meta: &ObjectMeta) -> Value {
    json!({
        "key": meta.key.as_str().strip_prefix(ns).unwrap_or(meta.key.as_str()),
        "size": meta.size,
        "etag": meta.etag,
        "content_type": meta.content_type,
        "last_modified": meta
            .last_modified
            .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
            .map(|d| d.as_secs()),
    })
}

fn meta_headers(meta: &ObjectMeta, headers: &mut HeaderMap) {
    let content_type = meta
        .content_type
        .as_deref()
        .and_then(|ct| HeaderValue::from_str(ct).ok())
        .unwrap_or(HeaderValue::from_static("application/octet-stream"));
    headers.insert(header::CONTENT_TYPE, content_type);
    headers.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    if let Some(etag) = meta
        .etag
        .as_deref()
        .and_then(|e| HeaderValue::from_str(&quoted(e)).ok())
    {
        headers.insert(header::ETAG, etag);
    }
    if let Some(at) = meta.last_modified
        && let Ok(value) = HeaderValue::from_str(&httpdate::fmt_http_date(at))
    {
        headers.insert(header::LAST_MODIFIED, value);
    }
}

fn quoted(etag: &str) -> String {
    if etag.starts_with('"') || etag.starts_with("W/") {
        etag.to_owned()
    } else {
        format!("\"{etag}\"")
    }
}

async fn upload(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(key): ApiPath<String>,
    headers: HeaderMap,
    body: HttpBody,
) -> ApiResult<Response> {
    let key = user_key(&user, &key)?;
    let max = state.config.max_upload_bytes;
    let too_large = move || {
        Error::new(
            ErrorKind::PayloadTooLarge,
            format!("uploads are limited to {max} bytes"),
        )
    };
    let declared = match headers.get(header::CONTENT_LENGTH) {
        Some(value) => Some(
            value
                .to_str()
                .ok()
                .and_then(|v| v.trim().parse::<u64>().ok())
                .ok_or_else(|| ApiError::invalid("malformed Content-Length"))?,
        ),
        None => None,
    };
    if declared.is_some_and(|n| n > max) {
        return Err(too_large().into());
    }
    let mut opts = PutOptions::new();
    if let Some(content_type) = headers.get(header::CONTENT_TYPE) {
        let content_type = content_type
            .to_str()
            .map_err(|_| ApiError::invalid("Content-Type must be ASCII"))?;
        opts = opts.content_type(content_type);
    }
    match headers.get(header::IF_NONE_MATCH).map(|v| v.as_bytes()) {
        None => {}
        Some(b"*") => opts = opts.mode(PutMode::Create),
        Some(_) => {
            return Err(ApiError::invalid(
                "only `If-None-Match: *` is supported on uploads",
            ));
        }
    }
    if let Some(etag) = headers.get(header::IF_MATCH) {
        let etag = etag
            .to_str()
            .map_err(|_| ApiError::invalid("malformed If-Match"))?
            .trim()
            .trim_matches('"');
        opts = opts.mode(PutMode::IfMatch(etag.to_owned()));
    }
    // Count bytes as they pass; past the limit the stream fails, and a
    // failing stream makes the store abandon the object.
    let mut seen: u64 = 0;
    let stream = body.into_data_stream().map(move |chunk| {
        let chunk = chunk.map_err(|e| {
            Error::new(ErrorKind::InvalidInput, "the upload was interrupted").with_source(e)
        })?;
        seen += chunk.len() as u64;
        if seen > max {
            return Err(too_large());
        }
        Ok(chunk)
    });
    let mut body = Body::from_stream(stream);
    if let Some(n) = declared {
        body = body.with_size_hint(n);
    }
    let meta = state.providers.storage().put_opts(&key, body, opts).await?;
    let ns = namespace(&user);
    let mut response = (StatusCode::CREATED, Json(meta_json(&ns, &meta))).into_response();
    if let Some(etag) = meta
        .etag
        .as_deref()
        .and_then(|e| HeaderValue::from_str(&quoted(e)).ok())
    {
        response.headers_mut().insert(header::ETAG, etag);
    }
    Ok(response)
}

/// What a `Range` header asks for: `None` for the whole object.
///
/// One `bytes=` range is served; several ranges or another unit are
/// ignored (the whole object is sent, as RFC 9110 allows); a malformed
/// `bytes=` range is a 400.
pub fn parse_range(value: &str) -> ApiResult<Option<ByteRange>> {
    let bad = || {
        ApiError::invalid("malformed Range header (expected bytes=START-END, START- or -SUFFIX)")
    };
    let Some((unit, spec)) = value.trim().split_once('=') else {
        return Err(bad());
    };
    if !unit.trim().eq_ignore_ascii_case("bytes") || spec.contains(',') {
        return Ok(None);
    }
    let (start, end) = spec.trim().split_once('-').ok_or_else(bad)?;
    let number = |s: &str| s.trim().parse::<u64>().map_err(|_| bad());
    match (start.trim().is_empty(), end.trim().is_empty()) {
        (true, true) => Err(bad()),
        (true, false) => Ok(Some(ByteRange::suffix(number(end)?))),
        (false, true) => Ok(Some(ByteRange::from_offset(number(start)?))),
        (false, false) => {
            let (start, last) = (number(start)?, number(end)?);
            if last < start {
                return Err(bad());
            }
            Ok(Some(ByteRange::new(start..last.saturating_add(1))))
        }
    }
}

fn unsatisfiable(size: u64) -> Response {
    let mut response = ApiError::invalid(format!(
        "the range selects no byte of this {size}-byte file"
    ))
    .with_status(StatusCode::RANGE_NOT_SATISFIABLE)
    .into_response();
    if let Ok(value) = HeaderValue::from_str(&format!("bytes */{size}")) {
        response.headers_mut().insert(header::CONTENT_RANGE, value);
    }
    response
}

async fn download(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(key): ApiPath<String>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let key = user_key(&user, &key)?;
    let range = match headers.get(header::RANGE) {
        Some(value) => parse_range(
            value
                .to_str()
                .map_err(|_| ApiError::invalid("malformed Range header"))?,
        )?,
        None => None,
    };
    let store = state.providers.storage();
    let mut opts = GetOptions::new();
    if let Some(range) = range {
        // Resolve against the current size, so an unsatisfiable range is a
        // 416 with the size rather than a generic error.
        let size = store.head(&key).await?.size;
        match range.resolve(size) {
            Ok(resolved) => opts = opts.range(ByteRange::new(resolved)),
            Err(_) => return Ok(unsatisfiable(size)),
        }
    }
    let result = match store.get_opts(&key, opts).await {
        Ok(result) => result,
        // The object shrank between head and get.
        Err(e) if e.kind() == ErrorKind::InvalidInput && range.is_some() => {
            return Ok(unsatisfiable(store.head(&key).await?.size));
        }
        Err(e) => return Err(e.into()),
    };
    let meta = result.meta.clone();
    let served = result.range.clone();
    let length = served.end - served.start;
    let mut response = HttpBody::from_stream(result.into_stream()).into_response();
    meta_headers(&meta, response.headers_mut());
    response
        .headers_mut()
        .insert(header::CONTENT_LENGTH, HeaderValue::from(length));
    if range.is_some() {
        *response.status_mut() = StatusCode::PARTIAL_CONTENT;
        let content_range = format!(
            "bytes {}-{}/{}",
            served.start,
            served.end.saturating_sub(1),
            meta.size
        );
        if let Ok(value) = HeaderValue::from_str(&content_range) {
            response.headers_mut().insert(header::CONTENT_RANGE, value);
        }
    }
    Ok(response)
}

async fn head(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(key): ApiPath<String>,
) -> ApiResult<Response> {
    let key = user_key(&user, &key)?;
    let meta = state.providers.storage().head(&key).await?;
    let mut response = StatusCode::OK.into_response();
    meta_headers(&meta, response.headers_mut());
    response
        .headers_mut()
        .insert(header::CONTENT_LENGTH, HeaderValue::from(meta.size));
    Ok(response)
}

async fn remove(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(key): ApiPath<String>,
) -> ApiResult<StatusCode> {
    let key = user_key(&user, &key)?;
    state.providers.storage().delete(&key).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    #[serde(default)]
    prefix: Option<String>,
    #[serde(default)]
    cursor: Option<String>,
    #[serde(default)]
    limit: Option<usize>,
}

async fn list(
    State(state): State<AppState>,
    user: AuthUser,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> ApiResult<Json<Value>> {
    let ns = namespace(&user);
    let prefix = query.prefix.unwrap_or_default();
    Key::validate_prefix(&prefix)?;
    let limit = query.limit.unwrap_or(100);
    if limit == 0 || limit > MAX_LIST {
        return Err(ApiError::invalid(format!(
            "`limit` must be 1 to {MAX_LIST}"
        )));
    }
    let mut opts = ListOptions::new().max_keys(limit);
    if let Some(cursor) = query.cursor {
        opts = opts.continuation_token(cursor);
    }
    let page = state
        .providers
        .storage()
        .list(&format!("{ns}{prefix}"), opts)
        .await?;
    let files: Vec<Value> = page.objects.iter().map(|m| meta_json(&ns, m)).collect();
    Ok(Json(
        json!({"files": files, "next_cursor": page.next_token}),
    ))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn ranges_parse_or_are_refused() {
        assert_eq!(
            parse_range("bytes=0-9").unwrap(),
            Some(ByteRange::new(0..10))
        );
        assert_eq!(
            parse_range("bytes=5-").unwrap(),
            Some(ByteRange::from_offset(5))
        );
        assert_eq!(parse_range("bytes=-3").unwrap(), Some(ByteRange::suffix(3)));
        assert_eq!(parse_range("bytes=0-1,4-5").unwrap(), None);
        assert_eq!(parse_range("items=0-1").unwrap(), None);
        for bad in [
            "bytes=",
            "bytes=-",
            "bytes=a-b",
            "bytes=9-1",
            "nonsense",
            "bytes=1",
        ] {
            assert_eq!(parse_range(bad).unwrap_err().status(), 400, "{bad}");
        }
    }

    #[test]
    fn namespaces_keep_a_subject_in_one_segment() {
        let user = |s: &str| AuthUser(plugbay::auth::Principal::new(s));
        assert_eq!(namespace(&user("alice")), "users/alice/");
        assert_eq!(namespace(&user("a/../b")), "users/a%2F..%2Fb/");
        assert_eq!(namespace(&user("..")), "users/%2E%2E/");
        assert_eq!(namespace(&user("a.b@x.io")), "users/a.b@x.io/");
        assert!(user_key(&user("alice"), "../bob/x").is_err());
        assert!(user_key(&user("alice"), "/etc/passwd").is_err());
        assert_eq!(
            user_key(&user("alice"), "a/b.txt").unwrap().as_str(),
            "users/alice/a/b.txt"
        );
    }
}
