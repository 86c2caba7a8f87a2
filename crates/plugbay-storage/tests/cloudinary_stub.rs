//! The Cloudinary backend against a stateful wiremock stub of its
//! documented Upload API (signed multipart uploads, chunked uploads with
//! `X-Unique-Upload-Id`, destroy), Admin API (resource details and prefix
//! listing with basic auth) and delivery URLs. The stub checks every
//! upload signature. Conformance scenarios run where Cloudinary's model
//! fits (see `conformance_scenarios_that_fit`), plus faults.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use futures::stream;
use plugbay_core::ErrorKind;
use plugbay_core::http::{HttpClient, RecordingSleeper, RetryPolicy};
use plugbay_storage::cloudinary::{
    CloudinaryBuilder, CloudinaryStore, Crop, SignatureAlgorithm, Transformation, sign_params,
};
use plugbay_storage::conformance::{self, checksum, pseudo_random};
use plugbay_storage::{Body, Key, ObjectStore, ObjectStoreExt};
use serde_json::json;
use wiremock::matchers::{method, path_regex};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

const SECRET: &str = "stub-secret";
const MIB: usize = 1024 * 1024;

/// Stored objects: public id → (bytes, version).
type Objects = BTreeMap<String, (Vec<u8>, u64)>;

#[derive(Clone, Default)]
struct Stub {
    objects: Arc<Mutex<Objects>>,
    partial: Arc<Mutex<HashMap<String, Vec<u8>>>>,
    ranges: Arc<Mutex<Vec<(String, String)>>>,
    version: Arc<Mutex<u64>>,
}

fn decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s)
        .decode_utf8_lossy()
        .into_owned()
}

fn error(status: u16, message: &str) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_json(json!({"error": {"message": message}}))
}

/// Parse a multipart/form-data body into fields (the file as bytes).
fn form(request: &Request) -> HashMap<String, Vec<u8>> {
    let ct = request
        .headers
        .get("content-type")
        .unwrap()
        .to_str()
        .unwrap();
    let boundary = format!("--{}", ct.split("boundary=").nth(1).unwrap());
    let body = &request.body;
    let mut fields = HashMap::new();
    let find = |hay: &[u8], needle: &[u8], from: usize| {
        hay[from..]
            .windows(needle.len())
            .position(|w| w == needle)
            .map(|i| i + from)
    };
    let mut pos = find(body, boundary.as_bytes(), 0).unwrap() + boundary.len();
    while &body[pos..pos + 2] == b"\r\n" {
        let head_end = find(body, b"\r\n\r\n", pos).unwrap();
        let head = String::from_utf8_lossy(&body[pos + 2..head_end]).into_owned();
        let name = head
            .split("name=\"")
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap()
            .to_owned();
        let next = find(body, format!("\r\n{boundary}").as_bytes(), head_end).unwrap();
        fields.insert(name, body[head_end + 4..next].to_vec());
        pos = next + 2 + boundary.len();
    }
    fields
}

fn resource(id: &str, data: &[u8], version: u64) -> serde_json::Value {
    json!({"public_id": id, "version": version, "bytes": data.len(), "etag": &checksum(data)[..32],
           "resource_type": "raw", "type": "upload", "created_at": "2024-05-01T10:00:00Z",
           "secure_url": format!("https://res.cloudinary.com/demo/raw/upload/v{version}/{id}")})
}

impl Respond for Stub {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let path = request.url.path().to_owned();
        let admin_ok = request
            .headers
            .get("authorization")
            .map(|v| v.to_str().unwrap().to_owned())
            == Some(format!("Basic {}", base64_basic("key", SECRET)));
        if let Some(rest) = path.strip_prefix("/v1_1/demo/resources/raw/upload") {
            if !admin_ok {
                return error(401, "Invalid credentials");
            }
            let objects = self.objects.lock().unwrap();
            if let Some(id) = rest.strip_prefix('/') {
                let id = decode(id);
                return match objects.get(&id) {
                    Some((data, v)) => {
                        ResponseTemplate::new(200).set_body_json(resource(&id, data, *v))
                    }
                    None => error(404, &format!("Resource not found - {id}")),
                };
            }
            let q: HashMap<String, String> = request
                .url
                .query_pairs()
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect();
            let prefix = q.get("prefix").cloned().unwrap_or_default();
            let max: usize = q.get("max_results").unwrap().parse().unwrap();
            let start: usize = q.get("next_cursor").map_or(0, |c| c.parse().unwrap());
            let matching: Vec<_> = objects
                .iter()
                .filter(|(k, _)| k.starts_with(&prefix))
                .collect();
            let page: Vec<_> = matching
                .iter()
                .skip(start)
                .take(max)
                .map(|(k, (d, v))| resource(k, d, *v))
                .collect();
            let mut reply = json!({"resources": page});
            if start + max < matching.len() {
                reply["next_cursor"] = json!((start + max).to_string());
            }
            return ResponseTemplate::new(200).set_body_json(reply);
        }
        if path == "/v1_1/demo/raw/upload" {
            let mut fields = form(request);
            let file = fields.remove("file").unwrap();
            let text = |f: &HashMap<String, Vec<u8>>, k: &str| {
                String::from_utf8(f.get(k).cloned().unwrap_or_default()).unwrap()
            };
            let signature = text(&fields, "signature");
            let signed: BTreeMap<String, String> = fields
                .iter()
                .filter(|(k, _)| *k != "signature")
                .map(|(k, v)| (k.clone(), String::from_utf8(v.clone()).unwrap()))
                .collect();
            if text(&fields, "api_key") != "key"
                || sign_params(&signed, SECRET, SignatureAlgorithm::Sha1) != signature
            {
                return error(401, "Invalid Signature");
            }
            let id = text(&fields, "public_id");
            let mut data = file;
            if let Some(upload_id) = request.headers.get("x-unique-upload-id") {
                let upload_id = upload_id.to_str().unwrap().to_owned();
                let range = request
                    .headers
                    .get("content-range")
                    .unwrap()
                    .to_str()
                    .unwrap()
                    .to_owned();
                self.ranges
                    .lock()
                    .unwrap()
                    .push((upload_id.clone(), range.clone()));
                let mut partial = self.partial.lock().unwrap();
                let buf = partial.entry(upload_id.clone()).or_default();
                buf.extend_from_slice(&data);
                if range.ends_with("/-1") {
                    return ResponseTemplate::new(200)
                        .set_body_json(json!({"done": false, "bytes": buf.len()}));
                }
                data = partial.remove(&upload_id).unwrap();
            }
            if data.is_empty() {
                return error(400, "Empty file");
            }
            let mut version = self.version.lock().unwrap();
            *version += 1;
            let v = 1_700_000_000 + *version;
            let reply = resource(&id, &data, v);
            self.objects.lock().unwrap().insert(id, (data, v));
            return ResponseTemplate::new(200).set_body_json(reply);
        }
        if path == "/v1_1/demo/raw/destroy" {
            let fields: HashMap<String, String> = url::form_urlencoded::parse(&request.body)
                .into_owned()
                .collect();
            let id = fields.get("public_id").unwrap();
            let removed = self.objects.lock().unwrap().remove(id).is_some();
            return ResponseTemplate::new(200)
                .set_body_json(json!({"result": if removed { "ok" } else { "not found" }}));
        }
        if let Some(rest) = path.strip_prefix("/demo/raw/upload/v") {
            let (version, id) = rest.split_once('/').unwrap();
            let id = decode(id);
            return match self.objects.lock().unwrap().get(&id) {
                Some((data, v)) if v.to_string() == version => {
                    ResponseTemplate::new(200).set_body_bytes(data.clone())
                }
                _ => ResponseTemplate::new(404),
            };
        }
        ResponseTemplate::new(500)
    }
}

fn base64_basic(user: &str, pass: &str) -> String {
    // Tiny base64 for the Authorization check (standard alphabet, padded).
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let input = format!("{user}:{pass}").into_bytes();
    let mut out = String::new();
    for chunk in input.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(A[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn http() -> HttpClient {
    HttpClient::builder()
        .timeout(Duration::from_millis(1500))
        .sleeper(RecordingSleeper::new())
        .retry_policy(RetryPolicy::default().max_retries(2))
        .build()
        .unwrap()
}

async fn stubbed() -> (MockServer, Stub, CloudinaryStore) {
    let server = MockServer::start().await;
    let stub = Stub::default();
    Mock::given(path_regex(".*"))
        .respond_with(stub.clone())
        .mount(&server)
        .await;
    let store = CloudinaryBuilder::from_url("cloudinary://key:stub-secret@demo")
        .unwrap()
        .api_base(server.uri())
        .delivery_base(server.uri())
        .chunk_size(5 * MIB)
        .http_client(http())
        .build()
        .unwrap();
    (server, stub, store)
}

/// Scenarios not run, and why: `put_get_round_trip` (content type and
/// custom metadata are not kept), `tiny_objects` and `random_round_trip`
/// (Cloudinary refuses empty files), `awkward_keys` (public ids cannot
/// hold `%`, `&`, `?`), `pagination` (listings come in upload order, not
/// key order, across pages), `concurrent_create_only` (no conditional
/// puts: skipped by capability inside the other scenarios too).
#[tokio::test]
async fn conformance_scenarios_that_fit() {
    let (_server, _stub, store) = stubbed().await;
    conformance::missing_objects(&store).await;
    conformance::delete_is_idempotent(&store).await;
    conformance::copy(&store).await;
    conformance::create_only(&store).await;
    conformance::if_match(&store).await;
    conformance::ranges(&store).await;
    conformance::conditional_gets(&store).await;
    conformance::list_with_delimiter(&store).await;
    conformance::streaming_put(&store).await;
    conformance::failed_stream_leaves_nothing(&store).await;
    conformance::presign(&store).await;
}

#[tokio::test]
async fn chunked_uploads_send_ranges_under_one_upload_id() {
    let (_server, stub, store) = stubbed().await;
    let data = pseudo_random(5, 11 * MIB + 3);
    let pieces: Vec<plugbay_core::Result<Bytes>> = data
        .chunks(MIB)
        .map(|c| Ok(Bytes::copy_from_slice(c)))
        .collect();
    let key = Key::new("videos/big.bin").unwrap();
    let meta = store
        .put(&key, Body::from_stream(stream::iter(pieces)))
        .await
        .unwrap();
    assert_eq!(meta.size, data.len() as u64);
    let ranges = stub.ranges.lock().unwrap().clone();
    let ids: std::collections::HashSet<_> = ranges.iter().map(|(id, _)| id.clone()).collect();
    assert_eq!(ids.len(), 1);
    let spans: Vec<_> = ranges.iter().map(|(_, r)| r.as_str()).collect();
    assert_eq!(
        spans,
        [
            "bytes 0-5242879/-1",
            "bytes 5242880-10485759/-1",
            "bytes 10485760-11534338/11534339"
        ]
    );
    assert_eq!(
        checksum(&store.get_bytes(&key).await.unwrap()),
        checksum(&data)
    );
    assert_eq!(store.list_all("videos/").await.unwrap().len(), 1);
}

#[tokio::test]
async fn unsupported_operations_and_delivery_urls() {
    let (_server, _stub, store) = stubbed().await;
    let key = Key::new("a/b.txt").unwrap();
    let err = store.put(&Key::new("a%b").unwrap(), "x").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert_eq!(
        store
            .put(&Key::new("empty").unwrap(), Vec::new())
            .await
            .unwrap_err()
            .kind(),
        ErrorKind::InvalidInput
    );
    store.put(&key, "hello").await.unwrap();
    let delim = store
        .list("a/", plugbay_storage::ListOptions::new().delimiter("/"))
        .await;
    assert_eq!(delim.unwrap_err().kind(), ErrorKind::Unsupported);
    let t = Transformation::new()
        .crop(Crop::Fit)
        .width(64)
        .format_auto();
    let url = store.delivery_url(&key, &t, Some(17)).unwrap();
    assert!(
        url.as_str()
            .ends_with("/demo/raw/upload/c_fit,w_64/f_auto/v17/a/b.txt"),
        "{url}"
    );
}

#[tokio::test]
async fn faults_give_kinds_and_bounded_attempts() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path_regex("/resources/raw/upload/limited$"))
        .respond_with(
            error(420, "Rate Limit Exceeded")
                .insert_header("x-featureratelimit-reset", "Wed, 01 May 2024 11:00:00 GMT"),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path_regex("/resources/raw/upload/garbled$"))
        .respond_with(
            ResponseTemplate::new(200).set_body_string("{\"public_id\": \"garbled\", \"bytes\": "),
        )
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path_regex("/resources/raw/upload/slow$"))
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(3)))
        .expect(3)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path_regex("/raw/upload$"))
        .respond_with(error(503, "Service Unavailable"))
        .expect(3)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path_regex("/raw/destroy$"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"result": "error"})))
        .mount(&server)
        .await;
    let store = CloudinaryBuilder::from_url("cloudinary://key:s@demo")
        .unwrap()
        .api_base(server.uri())
        .http_client(http())
        .build()
        .unwrap();
    let attempts = |e: &plugbay_core::Error| {
        e.context()
            .find(|(k, _)| *k == "attempts")
            .map(|(_, v)| v.to_owned())
    };
    let limited = store.head(&Key::new("limited").unwrap()).await.unwrap_err();
    // The Admin API limit resets hourly: reported at once, with the reset time.
    assert_eq!(limited.kind(), ErrorKind::RateLimited);
    assert_eq!(attempts(&limited).as_deref(), Some("1"));
    assert!(limited.context().any(|(k, _)| k == "rate_limit_reset"));
    assert_eq!(
        store
            .head(&Key::new("garbled").unwrap())
            .await
            .unwrap_err()
            .kind(),
        ErrorKind::Protocol
    );
    let slow = store.head(&Key::new("slow").unwrap()).await.unwrap_err();
    assert_eq!(slow.kind(), ErrorKind::Timeout);
    let down = store
        .put(&Key::new("x").unwrap(), "data")
        .await
        .unwrap_err();
    assert_eq!(down.kind(), ErrorKind::Unavailable);
    assert_eq!(attempts(&down).as_deref(), Some("3"));
    let odd = store.delete(&Key::new("x").unwrap()).await.unwrap_err();
    assert_eq!(odd.kind(), ErrorKind::Protocol);
}
