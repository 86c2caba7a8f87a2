//! Misbehaving TCP servers for fault suites (feature `conformance`).
//!
//! wiremock cannot reset a connection or send a malformed HTTP answer, so
//! every HTTP backend's fault suite needs these two. Both listen on a free
//! 127.0.0.1 port, count the connections they accept, and live until the
//! runtime that spawned them ends.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpListener;

/// A server that reads each request (for up to 2 s) and then resets the
/// connection (RST, via a zero linger). Returns its `http://127.0.0.1:PORT`
/// base and the number of connections it accepted.
pub async fn resetting_server() -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let seen = Arc::new(AtomicUsize::new(0));
    let counter = seen.clone();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            counter.fetch_add(1, Ordering::SeqCst);
            let mut buf = vec![0u8; 64 * 1024];
            let _ = tokio::time::timeout(Duration::from_secs(2), socket.read(&mut buf)).await;
            // A zero linger turns the close into a reset; the method is
            // deprecated only because it can block on a blocking socket.
            #[allow(deprecated)]
            let _ = socket.set_linger(Some(Duration::ZERO));
            drop(socket);
        }
    });
    (format!("http://{addr}"), seen)
}

/// A server that reads each request (for up to 2 s), answers with `raw`
/// bytes exactly as given (say, a `Content-Length` larger than the body for
/// a truncated answer) and closes. Returns its base URL and the number of
/// connections it accepted.
pub async fn raw_server(raw: &'static [u8]) -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let seen = Arc::new(AtomicUsize::new(0));
    let counter = seen.clone();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            counter.fetch_add(1, Ordering::SeqCst);
            let mut buf = vec![0u8; 64 * 1024];
            let _ = tokio::time::timeout(Duration::from_secs(2), socket.read(&mut buf)).await;
            let _ = socket.write_all(raw).await;
            let _ = socket.shutdown().await;
        }
    });
    (format!("http://{addr}"), seen)
}

/// A server that reads each request's head, then writes `parts` in order,
/// each after its delay (a stream that stalls, or one that trickles), and
/// closes. Returns its base URL and the number of connections it accepted.
pub async fn paced_server(parts: Vec<(Duration, &'static [u8])>) -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let seen = Arc::new(AtomicUsize::new(0));
    let counter = seen.clone();
    let parts = Arc::new(parts);
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            counter.fetch_add(1, Ordering::SeqCst);
            let parts = parts.clone();
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                let mut head = Vec::new();
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match socket.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                for (delay, bytes) in parts.iter() {
                    tokio::time::sleep(*delay).await;
                    if socket.write_all(bytes).await.is_err() {
                        return;
                    }
                }
                let _ = socket.shutdown().await;
            });
        }
    });
    (format!("http://{addr}"), seen)
}
