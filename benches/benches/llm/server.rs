//! The in-process chat-completions server: axum (hyper) on 127.0.0.1, on
//! its own thread and current-thread runtime, started once per bench
//! process. `POST /{mode}/v1/chat/completions` answers by `mode`:
//!
//! - `json`: the recorded non-streaming reply;
//! - `bulk`: the long stream as one `Content-Length` body, so a socket read
//!   carries many events;
//! - `framed`: the long stream chunked, one event per HTTP chunk, the
//!   server yielding between events so hyper flushes (one write) each;
//! - `probe`: the first event alone once the client says go (its write time
//!   reported back), then the tail once the client has seen the event.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::Response;
use axum::routing::post;
use axum::serve::ListenerExt;
use bytes::Bytes;
use futures::Stream;
use tokio::sync::oneshot;

use super::fixture;

/// The server's side of one latency probe.
#[derive(Debug)]
pub struct ProbeServerSide {
    /// Resolves when the client holds the response (headers read).
    pub go: oneshot::Receiver<()>,
    /// Gets the instant the first event was handed to hyper for writing.
    pub written: oneshot::Sender<Instant>,
    /// Resolves when the client has yielded its first event.
    pub rest: oneshot::Receiver<()>,
}

struct ServerState {
    events: Arc<Vec<Bytes>>,
    bulk: Bytes,
    probe: Arc<Mutex<Option<ProbeServerSide>>>,
    probe_body: (Bytes, Bytes),
}

/// A running server.
pub struct Server {
    addr: SocketAddr,
    probe: Arc<Mutex<Option<ProbeServerSide>>>,
}

impl Server {
    /// Bind a free port and serve from a background thread (it dies with
    /// the process).
    pub fn start() -> Server {
        let events = fixture::long_stream();
        let bulk = Bytes::from(events.concat());
        let probe = Arc::new(Mutex::new(None));
        let state = Arc::new(ServerState {
            events: Arc::new(events),
            bulk,
            probe: probe.clone(),
            probe_body: fixture::probe_stream(),
        });
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        std::thread::Builder::new()
            .name("llm-bench-server".into())
            .spawn(move || {
                super::pin_to_cpu(1);
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap();
                rt.block_on(async move {
                    let listener =
                        tokio::net::TcpListener::from_std(listener)
                            .unwrap()
                            .tap_io(|tcp| {
                                let _ = tcp.set_nodelay(true);
                            });
                    let app = Router::new()
                        .route("/{mode}/v1/chat/completions", post(chat))
                        .with_state(state);
                    axum::serve(listener, app).await.unwrap();
                });
            })
            .unwrap();
        Server { addr, probe }
    }

    /// The API root (`.../v1`) of `mode`.
    pub fn base(&self, mode: &str) -> String {
        format!("http://{}/{mode}/v1", self.addr)
    }

    /// Arm the next `probe` request.
    pub fn arm_probe(&self, side: ProbeServerSide) {
        *self.probe.lock().unwrap() = Some(side);
    }
}

fn reply(content_type: &'static str, body: Body) -> Response {
    Response::builder()
        .header(header::CONTENT_TYPE, content_type)
        .body(body)
        .unwrap()
}

async fn chat(
    State(state): State<Arc<ServerState>>,
    Path(mode): Path<String>,
    request: Bytes,
) -> Response {
    // The request body is read (as a real server would) and dropped.
    drop(request);
    match mode.as_str() {
        "json" => reply(
            "application/json",
            Body::from(Bytes::from_static(fixture::CHAT_JSON)),
        ),
        "bulk" => reply("text/event-stream", Body::from(state.bulk.clone())),
        "framed" => reply(
            "text/event-stream",
            Body::from_stream(framed(state.events.clone())),
        ),
        "probe" => match state.probe.lock().unwrap().take() {
            Some(side) => reply(
                "text/event-stream",
                Body::from_stream(probe(side, state.probe_body.clone())),
            ),
            None => Response::builder()
                .status(StatusCode::CONFLICT)
                .body(Body::from("probe not armed"))
                .unwrap(),
        },
        _ => Response::builder()
            .status(StatusCode::NOT_FOUND)
            .body(Body::empty())
            .unwrap(),
    }
}

/// One event per chunk; the yield between events returns `Pending` to
/// hyper, which then flushes what it has (the one chunk) to the socket.
fn framed(events: Arc<Vec<Bytes>>) -> impl Stream<Item = Result<Bytes, Infallible>> + Send {
    futures::stream::unfold(0usize, move |i| {
        let events = events.clone();
        async move {
            let event = events.get(i)?.clone();
            if i > 0 {
                tokio::task::yield_now().await;
            }
            Some((Ok(event), i + 1))
        }
    })
}

enum ProbeStage {
    First(ProbeServerSide, Bytes, Bytes),
    Tail(oneshot::Receiver<()>, Bytes),
    Done,
}

fn probe(
    side: ProbeServerSide,
    (first, tail): (Bytes, Bytes),
) -> impl Stream<Item = Result<Bytes, Infallible>> + Send {
    futures::stream::unfold(ProbeStage::First(side, first, tail), |stage| async move {
        match stage {
            ProbeStage::First(side, first, tail) => {
                let _ = side.go.await;
                // Stamped as the chunk is handed to hyper, which writes it in
                // this same poll: the measured latency includes that write.
                let _ = side.written.send(Instant::now());
                Some((Ok(first), ProbeStage::Tail(side.rest, tail)))
            }
            ProbeStage::Tail(rest, tail) => {
                let _ = rest.await;
                Some((Ok(tail), ProbeStage::Done))
            }
            ProbeStage::Done => None,
        }
    })
}
