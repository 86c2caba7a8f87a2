//! GCS downloads cut mid-body against a raw TCP server: the first media
//! answer announces the whole object but sends half of it and closes (or
//! stalls with the connection open); the download resumes with a ranged
//! request pinned to the same generation (after the read timeout, for the
//! stall), fails when resumes are off, and ends with `PreconditionFailed`
//! when the object was replaced in between.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::StreamExt;
use plugbay_core::ErrorKind;
use plugbay_core::http::RetryPolicy;
use plugbay_storage::gcs::{GcsBuilder, GcsStore};
use plugbay_storage::{Key, ObjectStore};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const SIZE: usize = 100_000;
const GENERATION: u64 = 7;

fn object() -> Vec<u8> {
    (0..SIZE).map(|i| (i * 31 % 251) as u8).collect()
}

/// How the server answers a ranged media request.
#[derive(Clone, Copy)]
enum OnRange {
    /// `206` with the asked-for bytes.
    Serve,
    /// `412`: the generation is gone.
    Replaced,
}

/// What the first (whole-object) media answer does after half the body.
#[derive(Clone, Copy)]
enum Cut {
    /// Close the connection.
    Close,
    /// Keep the connection open and send nothing more.
    Stall,
}

/// One request as the server read it.
#[derive(Debug, Clone)]
struct Seen {
    target: String,
    range: Option<String>,
}

async fn server(on_range: OnRange) -> (String, Arc<Mutex<Vec<Seen>>>) {
    server_cutting(on_range, Cut::Close).await
}

async fn server_cutting(on_range: OnRange, cut: Cut) -> (String, Arc<Mutex<Vec<Seen>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            let log = log.clone();
            tokio::spawn(answer(socket, on_range, cut, log));
        }
    });
    (format!("http://{addr}"), seen)
}

async fn answer(mut socket: TcpStream, on_range: OnRange, cut: Cut, log: Arc<Mutex<Vec<Seen>>>) {
    let mut head = Vec::new();
    let mut buf = [0u8; 4096];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        match socket.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
    }
    let text = String::from_utf8_lossy(&head).into_owned();
    let mut lines = text.split("\r\n");
    let target = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .unwrap_or_default()
        .to_owned();
    let range = lines
        .filter_map(|l| l.split_once(':'))
        .find(|(name, _)| name.trim().eq_ignore_ascii_case("range"))
        .map(|(_, value)| value.trim().to_owned());
    log.lock().unwrap().push(Seen {
        target: target.clone(),
        range: range.clone(),
    });
    let data = object();
    let reply = |status: &str, headers: &str, body: &[u8]| {
        let mut out = format!(
            "HTTP/1.1 {status}\r\n{headers}content-length: {}\r\nconnection: close\r\n\r\n",
            body.len()
        )
        .into_bytes();
        out.extend_from_slice(body);
        out
    };
    let out = if !target.contains("alt=media") {
        let resource = json!({"kind": "storage#object", "name": "big.bin", "bucket": "b",
            "size": SIZE.to_string(), "generation": GENERATION.to_string(),
            "metageneration": "1", "updated": "2024-05-01T10:00:00.000Z",
            "contentType": "application/octet-stream"});
        reply(
            "200 OK",
            "content-type: application/json\r\n",
            resource.to_string().as_bytes(),
        )
    } else if let Some(range) = range {
        match on_range {
            OnRange::Replaced => {
                let error = json!({"error": {"code": 412, "message": "At least one of the pre-conditions you specified did not hold.",
                    "errors": [{"reason": "conditionNotMet"}]}});
                reply(
                    "412 Precondition Failed",
                    "content-type: application/json\r\n",
                    error.to_string().as_bytes(),
                )
            }
            OnRange::Serve => {
                let (first, last) = range
                    .strip_prefix("bytes=")
                    .and_then(|r| r.split_once('-'))
                    .unwrap();
                let (first, last): (usize, usize) = (first.parse().unwrap(), last.parse().unwrap());
                reply(
                    "206 Partial Content",
                    &format!("content-range: bytes {first}-{last}/{SIZE}\r\n"),
                    &data[first..=last],
                )
            }
        }
    } else {
        // The whole length announced, half of it sent, then the close.
        let mut out = format!(
            "HTTP/1.1 200 OK\r\ncontent-type: application/octet-stream\r\ncontent-length: {SIZE}\r\n\r\n"
        )
        .into_bytes();
        out.extend_from_slice(&data[..SIZE / 2]);
        if let Cut::Stall = cut {
            let _ = socket.write_all(&out).await;
            let _ = socket.flush().await;
            // Hold the connection open, silent, for longer than any test.
            tokio::time::sleep(Duration::from_secs(3600)).await;
            return;
        }
        out
    };
    let _ = socket.write_all(&out).await;
    let _ = socket.flush().await;
    let _ = socket.shutdown().await;
}

fn store(base: &str, resumes: u32) -> GcsStore {
    store_with(base, resumes, Duration::from_secs(10))
}

fn store_with(base: &str, resumes: u32, read_timeout: Duration) -> GcsStore {
    GcsBuilder::new("b")
        .endpoint(base)
        .anonymous(true)
        .read_timeout(read_timeout)
        .read_resume_attempts(resumes)
        .retry_policy(RetryPolicy::default().max_retries(0))
        .build()
        .unwrap()
}

/// Every item of the download: the bytes before the first error, and it.
async fn drain(store: &GcsStore) -> (Vec<u8>, Option<plugbay_core::Error>) {
    let key = Key::new("big.bin").unwrap();
    let result = store.get_opts(&key, Default::default()).await.unwrap();
    assert_eq!(result.range, 0..SIZE as u64);
    let mut body = result.into_stream();
    let mut bytes = Vec::new();
    while let Some(item) = body.next().await {
        match item {
            Ok(chunk) => bytes.extend_from_slice(&chunk),
            Err(e) => {
                assert!(body.next().await.is_none(), "an error ends the stream");
                return (bytes, Some(e));
            }
        }
    }
    (bytes, None)
}

fn media_requests(seen: &Mutex<Vec<Seen>>) -> Vec<Seen> {
    let seen = seen.lock().unwrap();
    seen.iter()
        .filter(|s| s.target.contains("alt=media"))
        .cloned()
        .collect()
}

#[tokio::test]
async fn a_download_cut_mid_body_resumes_from_where_it_stopped() {
    let (base, seen) = server(OnRange::Serve).await;
    let (bytes, error) = drain(&store(&base, 3)).await;
    assert!(error.is_none(), "{error:?}");
    assert_eq!(bytes.len(), SIZE);
    assert!(
        bytes == object(),
        "the resumed bytes differ from the object"
    );
    let media = media_requests(&seen);
    assert_eq!(media.len(), 2, "{media:?}");
    assert_eq!(media[0].range, None);
    let pinned = format!("ifGenerationMatch={GENERATION}");
    assert!(media[0].target.contains(&pinned), "{media:?}");
    assert_eq!(
        media[1].range.as_deref(),
        Some(format!("bytes={}-{}", SIZE / 2, SIZE - 1).as_str())
    );
    assert!(media[1].target.contains(&pinned), "{media:?}");
}

#[tokio::test]
async fn a_stalled_download_resumes_once_the_read_timeout_fires() {
    let (base, seen) = server_cutting(OnRange::Serve, Cut::Stall).await;
    let store = store_with(&base, 3, Duration::from_millis(300));
    // The guard only keeps a broken read timeout from hanging the suite.
    let (bytes, error) = tokio::time::timeout(Duration::from_secs(60), drain(&store))
        .await
        .expect("the stalled body was never given up on");
    assert!(error.is_none(), "{error:?}");
    assert!(
        bytes == object(),
        "the resumed bytes differ from the object"
    );
    let media = media_requests(&seen);
    assert_eq!(media.len(), 2, "{media:?}");
    assert_eq!(
        media[1].range.as_deref(),
        Some(format!("bytes={}-{}", SIZE / 2, SIZE - 1).as_str())
    );
    assert!(
        media[1]
            .target
            .contains(&format!("ifGenerationMatch={GENERATION}"))
    );
}

#[tokio::test]
async fn without_resumes_the_cut_ends_the_stream_with_an_error() {
    let (base, seen) = server(OnRange::Serve).await;
    let (bytes, error) = drain(&store(&base, 0)).await;
    let error = error.expect("the cut body must not pass as whole");
    assert!(bytes.len() < SIZE);
    assert_eq!(bytes[..], object()[..bytes.len()]);
    // hyper reports the early close as a body it could not read.
    assert_eq!(error.kind(), ErrorKind::Protocol, "{error:#}");
    assert!(
        error
            .context()
            .any(|(k, v)| k == "resume" && v == "attempts exhausted"),
        "{error:#}"
    );
    assert_eq!(error.provider(), Some("gcs"));
    assert_eq!(media_requests(&seen).len(), 1);
}

#[tokio::test]
async fn a_resume_after_the_object_was_replaced_ends_in_precondition_failed() {
    let (base, seen) = server(OnRange::Replaced).await;
    let (bytes, error) = drain(&store(&base, 3)).await;
    let error = error.expect("bytes of another generation must never follow");
    assert_eq!(error.kind(), ErrorKind::PreconditionFailed, "{error:#}");
    assert!(bytes.len() < SIZE);
    assert_eq!(bytes[..], object()[..bytes.len()]);
    let media = media_requests(&seen);
    assert_eq!(media.len(), 2, "{media:?}");
    assert!(media[1].range.is_some());
}
