//! A raw HTTP/1.1 server on loopback for failures wiremock cannot script:
//! connections closed before an answer, bodies cut short. Each connection
//! serves one request, then closes.

use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// What to do with a request.
#[derive(Debug)]
#[allow(dead_code)] // each test binary uses its own subset
pub(crate) enum Reply {
    /// Close the connection without answering.
    Close,
    /// Write these bytes (status line, headers, body), then close.
    Bytes(Vec<u8>),
}

impl Reply {
    /// An answer with `status`, `headers` and `body`, cut after `send`
    /// body bytes (the headers still announce the whole body).
    #[allow(dead_code)]
    pub(crate) fn cut(status: &str, headers: &[(&str, String)], body: &[u8], send: usize) -> Reply {
        let mut out = format!("HTTP/1.1 {status}\r\nconnection: close\r\n");
        for (name, value) in headers {
            out.push_str(&format!("{name}: {value}\r\n"));
        }
        out.push_str(&format!("content-length: {}\r\n\r\n", body.len()));
        let mut bytes = out.into_bytes();
        bytes.extend_from_slice(&body[..send.min(body.len())]);
        Reply::Bytes(bytes)
    }
}

type Handler = dyn Fn(usize, &str) -> Reply + Send + Sync;

/// The server; stops when dropped.
pub(crate) struct RawServer {
    port: u16,
    requests: Arc<Mutex<Vec<String>>>,
    task: JoinHandle<()>,
}

impl RawServer {
    /// Serve each request with `handler(index, request head)`.
    pub(crate) async fn start(
        handler: impl Fn(usize, &str) -> Reply + Send + Sync + 'static,
    ) -> RawServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let seen = requests.clone();
        let handler: Arc<Handler> = Arc::new(handler);
        let task = tokio::spawn(async move {
            loop {
                let Ok((mut socket, _)) = listener.accept().await else {
                    return;
                };
                let mut head = Vec::new();
                let mut buf = [0u8; 4096];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match socket.read(&mut buf).await {
                        Ok(0) | Err(_) => break,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                let head = String::from_utf8_lossy(&head).to_lowercase();
                let index = {
                    let mut all = seen.lock().unwrap();
                    all.push(head.clone());
                    all.len() - 1
                };
                if let Reply::Bytes(bytes) = handler(index, &head) {
                    let _ = socket.write_all(&bytes).await;
                    let _ = socket.flush().await;
                }
                drop(socket);
            }
        });
        RawServer {
            port,
            requests,
            task,
        }
    }

    /// `http://127.0.0.1:port`.
    pub(crate) fn uri(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The request heads seen so far, lowercased.
    pub(crate) fn requests(&self) -> Vec<String> {
        self.requests.lock().unwrap().clone()
    }
}

impl Drop for RawServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}
