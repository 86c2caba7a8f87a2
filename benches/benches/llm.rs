//! OpenAI chat client cost: plugbay-llm's `OpenAiChatModel` side by side
//! with `async-openai` and a hand-written `reqwest` + `serde_json` client,
//! all against one in-process axum server on 127.0.0.1 replaying fixed
//! bodies (see `llm/server.rs`).
//!
//! Groups (three contestants each, measured in one run):
//! - `llm_chat`: one non-streaming call (request encode, HTTP round trip,
//!   reply parse);
//! - `llm_stream_bulk`: a 10,000-chunk stream (text deltas, two parallel
//!   tool calls in fragments, a usage chunk with `choices: []`, `[DONE]`)
//!   sent as one body, many events per socket read, decoded to the end;
//! - `llm_stream_framed`: the same stream one event per HTTP chunk, each
//!   flushed on its own;
//! - `llm_decode_in_memory`: the SSE + JSON decode alone over the bulk body
//!   in 16 KiB pieces, no HTTP (plugbay vs the hand-written splitter);
//! - `llm_decode_obfuscated`: the same with OpenAI's per-chunk
//!   `obfuscation` padding, which plugbay's chunk templates cannot use.
//!
//! Then, outside criterion, the first-event latency probe: the server sends
//! the first event only when the client holds the response, and the client
//! stamps when its stream yields that event; printed as a distribution.
//! Finally the median ratios of the groups are printed, then the
//! contestants take turns job by job and each one's median wall time and
//! median client CPU time (the bench thread's `CLOCK_THREAD_CPUTIME_ID`:
//! every client runs on this thread, the server on its own) are printed.
//!
//! Each stream is consumed in a task spawned on the bench's current-thread
//! runtime, as a server handler consumes it. Consumed by `block_on`
//! itself, every HTTP chunk would cost one more poll of the I/O driver
//! (tokio's current-thread `block_on` polls the driver before it re-polls
//! a woken `block_on` future), a cost of the harness, not of the client.
//!
//! On a 2-core VM the framed stream's wall time is set by how the client's
//! and the server's wake-ups and socket calls interleave; `taskset -c 0`
//! (one core) takes that out and leaves client CPU as the cost to compare.
//! `PLUGBAY_BENCH_PIN=1` pins the client to CPU 0 and the server to CPU 1
//! (steadier cross-core figures than leaving placement to the scheduler).
//!
//! `cargo bench -p plugbay-benches --bench llm -- --measurement-time 3 --warm-up-time 1`
#![allow(
    missing_docs,
    unreachable_pub,
    clippy::unwrap_used,
    clippy::expect_used
)]

#[path = "llm/clients.rs"]
mod clients;
#[path = "llm/fixture.rs"]
mod fixture;
#[path = "llm/server.rs"]
mod server;
#[path = "llm/turns.rs"]
mod turns;

use std::future::Future;
use std::hint::black_box;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput};
use futures::StreamExt;
use futures::stream::BoxStream;
use plugbay_llm::ChatModel;
use plugbay_llm::openai::{ChunkFolder, OpenAiChatModel};
use plugbay_llm::sse::SseDecoder;
use tokio::runtime::Runtime;
use tokio::sync::oneshot;

use clients::HandWritten;
use fixture::Outcome;
use server::{ProbeServerSide, Server};

type AsyncOpenAi = async_openai::Client<async_openai::config::OpenAIConfig>;

const CONTESTANTS: [&str; 3] = ["plugbay", "async-openai", "hand-written"];

/// The three clients pointed at one mode of the server.
struct Trio {
    plugbay: OpenAiChatModel,
    openai: AsyncOpenAi,
    hand: HandWritten,
}

impl Trio {
    fn new(server: &Server, mode: &str) -> Trio {
        let base = server.base(mode);
        Trio {
            plugbay: clients::plugbay(&base),
            openai: clients::async_openai(&base),
            hand: HandWritten::new(&base),
        }
    }

    // Each stream is consumed in a spawned task, as a server handler
    // consumes it (see the module docs).

    async fn plugbay_stream(&self) -> Outcome {
        let model = self.plugbay.clone();
        in_task(async move { clients::plugbay_drain(clients::plugbay_stream(&model).await).await })
            .await
    }

    async fn openai_stream(&self) -> Outcome {
        let openai = self.openai.clone();
        in_task(async move {
            let stream = openai
                .chat()
                .create_stream(clients::async_openai_request(true))
                .await
                .unwrap();
            clients::async_openai_drain(stream).await
        })
        .await
    }

    async fn hand_stream(&self) -> Outcome {
        let hand = self.hand.clone();
        in_task(async move { clients::hand_drain(hand.stream().await).await }).await
    }
}

/// Run `job` as a task of the current runtime and wait for it.
async fn in_task<T: Send + 'static>(job: impl Future<Output = T> + Send + 'static) -> T {
    tokio::spawn(job).await.unwrap()
}

fn runtime() -> Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// Every contestant gets the same answers before anything is timed.
fn verify(rt: &Runtime, json: &Trio, bulk: &Trio, framed: &Trio) {
    rt.block_on(async {
        let reply = json.plugbay.chat(clients::plugbay_request()).await.unwrap();
        assert_eq!(reply.text(), fixture::CHAT_TEXT);
        let reply = json
            .openai
            .chat()
            .create(clients::async_openai_request(false))
            .await
            .unwrap();
        assert_eq!(
            reply.choices[0].message.content.as_deref(),
            Some(fixture::CHAT_TEXT)
        );
        assert_eq!(json.hand.chat().await, fixture::CHAT_TEXT);

        for trio in [bulk, framed] {
            let plugbay = trio.plugbay_stream().await;
            assert_eq!(plugbay, fixture::expected(fixture::PLUGBAY_EVENTS));
            let openai = trio.openai_stream().await;
            assert_eq!(openai, fixture::expected(fixture::CHUNKS));
            let hand = trio.hand_stream().await;
            assert_eq!(hand, fixture::expected(fixture::CHUNKS));
        }
        let args = &fixture::expected(0).calls[0].2;
        serde_json::from_str::<serde_json::Value>(args).expect("assembled arguments are JSON");
    });
}

fn bench_chat(c: &mut Criterion, rt: &Runtime, trio: &Trio) {
    let mut group = c.benchmark_group("llm_chat");
    group.throughput(Throughput::Elements(1));
    group.bench_function("plugbay", |b| {
        b.to_async(rt).iter(|| async {
            black_box(trio.plugbay.chat(clients::plugbay_request()).await.unwrap())
        })
    });
    group.bench_function("async-openai", |b| {
        b.to_async(rt).iter(|| async {
            black_box(
                trio.openai
                    .chat()
                    .create(clients::async_openai_request(false))
                    .await
                    .unwrap(),
            )
        })
    });
    group.bench_function("hand-written", |b| {
        b.to_async(rt)
            .iter(|| async { black_box(trio.hand.chat().await) })
    });
    group.finish();
}

fn bench_stream(c: &mut Criterion, rt: &Runtime, trio: &Trio, mode: &str) {
    let mut group = c.benchmark_group(format!("llm_stream_{mode}"));
    group.throughput(Throughput::Elements(fixture::CHUNKS as u64));
    group.bench_function("plugbay", |b| {
        b.to_async(rt)
            .iter(|| async { black_box(trio.plugbay_stream().await) })
    });
    group.bench_function("async-openai", |b| {
        b.to_async(rt)
            .iter(|| async { black_box(trio.openai_stream().await) })
    });
    group.bench_function("hand-written", |b| {
        b.to_async(rt)
            .iter(|| async { black_box(trio.hand_stream().await) })
    });
    group.finish();
}

/// plugbay's sans-I/O decode: `SseDecoder` + `ChunkFolder`, events counted
/// and dropped as `OpenAiChatStream` hands them out: each SSE event is
/// folded (lent in place) only once the events of the one before are gone,
/// as the hand-written decoder drops each chunk before parsing the next.
fn plugbay_decode(pieces: &[&[u8]]) -> usize {
    let mut decoder = SseDecoder::new();
    let mut folder = ChunkFolder::new();
    let mut out = Vec::with_capacity(8);
    let mut events = 0;
    for piece in pieces {
        decoder.push(piece);
        while decoder
            .next_event_with(|event| folder.push_ref(event, &mut out))
            .unwrap()
            .is_some()
        {
            events += out.len();
            out.clear();
        }
    }
    folder.end(&mut out);
    events + out.len()
}

/// SseDecoder + ChunkFolder vs the hand-written splitter over in-memory
/// pieces: the decode cost with the HTTP stack taken out.
fn bench_decode(c: &mut Criterion) {
    // The stream as vLLM, Ollama or TGI send it, and as OpenAI does with its
    // per-chunk `obfuscation` padding (plugbay's chunk templates never
    // match it, so its full parse is measured).
    for (name, events) in [
        ("llm_decode_in_memory", fixture::long_stream()),
        ("llm_decode_obfuscated", fixture::obfuscated_stream()),
    ] {
        let body: Vec<u8> = events.concat();
        let pieces: Vec<&[u8]> = body.chunks(16 * 1024).collect();
        let mut group = c.benchmark_group(name);
        group.throughput(Throughput::Elements(fixture::CHUNKS as u64));
        group.bench_function("plugbay", |b| {
            b.iter(|| {
                let events = plugbay_decode(&pieces);
                assert_eq!(events, fixture::PLUGBAY_EVENTS);
                black_box(events)
            })
        });
        group.bench_function("hand-written", |b| {
            b.iter(|| {
                let outcome = clients::hand_decode(&pieces);
                assert_eq!(outcome.events, fixture::CHUNKS);
                black_box(outcome)
            })
        });
        group.finish();
    }
}

// ------------------------------------------------------------ latency probe

async fn probe_once<F, Fut>(server: &Server, open: F) -> Duration
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = BoxStream<'static, bool>>,
{
    let (go_tx, go) = oneshot::channel();
    let (written, written_rx) = oneshot::channel();
    let (rest_tx, rest) = oneshot::channel();
    server.arm_probe(ProbeServerSide { go, written, rest });
    let mut stream = open().await;
    go_tx.send(()).unwrap();
    let first = stream.next().await;
    let seen = Instant::now();
    assert_eq!(first, Some(true), "the first item is an event");
    let written_at = written_rx.await.unwrap();
    rest_tx.send(()).unwrap();
    while stream.next().await.is_some() {}
    seen.saturating_duration_since(written_at)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let rank = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

fn latency_probe(rt: &Runtime, server: &Server, trio: &Trio, rounds: usize) {
    let mut samples: [Vec<Duration>; 3] = Default::default();
    rt.block_on(async {
        // Round-robin, so load on the shared machine hits all three alike.
        for _ in 0..rounds {
            samples[0].push(
                probe_once(server, || async {
                    clients::plugbay_stream(&trio.plugbay)
                        .await
                        .map(|e| e.is_ok())
                        .boxed()
                })
                .await,
            );
            samples[1].push(
                probe_once(server, || async {
                    trio.openai
                        .chat()
                        .create_stream(clients::async_openai_request(true))
                        .await
                        .unwrap()
                        .map(|r| r.is_ok())
                        .boxed()
                })
                .await,
            );
            samples[2].push(
                probe_once(server, || async {
                    trio.hand.stream().await.map(|r| r.is_ok()).boxed()
                })
                .await,
            );
        }
    });
    println!();
    println!(
        "first-event latency (server hands the event to hyper -> client stream yields it), {rounds} probes each:"
    );
    println!(
        "  {:<13} {:>9} {:>9} {:>9} {:>9} {:>9}  {:>8}",
        "client", "min", "median", "p90", "p99", "max", "<=0.5ms"
    );
    for (name, mut s) in CONTESTANTS.into_iter().zip(samples) {
        s.sort();
        let within = s
            .iter()
            .filter(|d| **d <= Duration::from_micros(500))
            .count();
        let us = |d: Duration| format!("{:.1}us", d.as_secs_f64() * 1e6);
        println!(
            "  {:<13} {:>9} {:>9} {:>9} {:>9} {:>9}  {:>7.1}%",
            name,
            us(s[0]),
            us(percentile(&s, 0.5)),
            us(percentile(&s, 0.9)),
            us(percentile(&s, 0.99)),
            us(s[s.len() - 1]),
            100.0 * within as f64 / s.len() as f64
        );
    }
}

// ------------------------------------------------------------- ratio table

/// Where criterion writes its estimates (its own lookup order, with the
/// bench executable's target dir instead of `cargo metadata`).
fn criterion_home() -> Option<PathBuf> {
    if let Some(home) = std::env::var_os("CRITERION_HOME") {
        return Some(home.into());
    }
    if let Some(target) = std::env::var_os("CARGO_TARGET_DIR") {
        return Some(PathBuf::from(target).join("criterion"));
    }
    // target/release/deps/llm-<hash>
    let exe = std::env::current_exe().ok()?;
    Some(exe.parent()?.parent()?.parent()?.join("criterion"))
}

fn median_ns(home: &std::path::Path, group: &str, id: &str) -> Option<f64> {
    let path = home.join(group).join(id).join("new/estimates.json");
    let text = std::fs::read_to_string(path).ok()?;
    let value: serde_json::Value = serde_json::from_str(&text).ok()?;
    value["median"]["point_estimate"].as_f64()
}

fn ratio_table(started: std::time::SystemTime) {
    let Some(home) = criterion_home() else { return };
    println!();
    println!("median time per iteration, and ratios (lower is faster for plugbay):");
    for group in [
        "llm_chat",
        "llm_stream_bulk",
        "llm_stream_framed",
        "llm_decode_in_memory",
        "llm_decode_obfuscated",
    ] {
        // Only estimates written by this run.
        let fresh = |id: &str| {
            let path = home.join(group).join(id).join("new/estimates.json");
            let modified = std::fs::metadata(path).and_then(|m| m.modified()).ok()?;
            (modified >= started).then(|| median_ns(&home, group, id))?
        };
        let [p, o, h] = CONTESTANTS.map(fresh);
        let Some(p) = p else { continue };
        let fmt = |ns: Option<f64>| ns.map_or("-".to_owned(), |ns| format!("{:.1}us", ns / 1e3));
        let ratio = |other: Option<f64>| other.map_or("-".to_owned(), |x| format!("{:.2}x", p / x));
        println!(
            "  {group:<21} plugbay {:>10}  async-openai {:>10}  hand-written {:>10}  plugbay/async-openai {:>6}  plugbay/hand-written {:>6}",
            fmt(Some(p)),
            fmt(o),
            fmt(h),
            ratio(o),
            ratio(h),
        );
    }
}

/// Pin the calling thread to `cpu` when `PLUGBAY_BENCH_PIN` is set.
fn pin_to_cpu(cpu: usize) {
    if std::env::var_os("PLUGBAY_BENCH_PIN").is_none() {
        return;
    }
    let mut set = nix::sched::CpuSet::new();
    set.set(cpu).unwrap();
    nix::sched::sched_setaffinity(nix::unistd::Pid::from_raw(0), &set).unwrap();
}

fn main() {
    pin_to_cpu(0);
    let bench_mode = std::env::args().any(|a| a == "--bench");
    let started = std::time::SystemTime::now();
    let server = Server::start();
    let rt = runtime();
    let json = Trio::new(&server, "json");
    let bulk = Trio::new(&server, "bulk");
    let framed = Trio::new(&server, "framed");
    let probe = Trio::new(&server, "probe");
    let profiling = std::env::args().any(|a| a == "--profile-time");
    if !profiling {
        verify(&rt, &json, &bulk, &framed);
    }

    let mut c = Criterion::default()
        .sample_size(20)
        .measurement_time(Duration::from_secs(4))
        .warm_up_time(Duration::from_secs(1))
        .configure_from_args();
    bench_chat(&mut c, &rt, &json);
    bench_stream(&mut c, &rt, &bulk, "bulk");
    bench_stream(&mut c, &rt, &framed, "framed");
    bench_decode(&mut c);
    c.final_summary();

    if profiling {
        return;
    }
    latency_probe(&rt, &server, &probe, if bench_mode { 300 } else { 3 });
    if bench_mode {
        ratio_table(started);
    }
    turns::interleaved_ratios(&rt, &json, &bulk, &framed, if bench_mode { 1 } else { 0 });
}
