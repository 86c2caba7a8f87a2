//! Object storage over S3: plugbay's `S3Store` (payload signed and
//! `UNSIGNED-PAYLOAD`) side by side with `object_store` 0.14 (`AmazonS3`,
//! signed payloads) and OpenDAL 0.59 (`services-s3`, unsigned payloads),
//! in one run, against ONE `s3s-fs` on loopback, every client at the same
//! part size × concurrency (8 MiB × 4).
//!
//! Workloads: upload and download of one 256 MiB object, then of 1,000
//! objects of 64 KiB (4 requests in flight). Downloads of the large object
//! use 4 ranged GETs of 8 MiB in flight where the client can (plugbay's
//! `download_concurrency`, OpenDAL's `reader_with(..).concurrent(4)`);
//! object_store's `get` is one stream. Each phase runs as a task on a
//! runtime worker (as in a server), `ROUNDS` times with the client order
//! rotating; the median is reported:
//!
//! - throughput (MiB/s, wall clock; on 2 cores this is mostly the server's
//!   speed: s3s-fs uses more CPU than any client);
//! - the client's own CPU seconds per GiB: `getrusage(RUSAGE_SELF)` of the
//!   bench process around the phase (every runtime thread; the server is
//!   another process). Uploads read a chunked source (fresh 1 MiB chunks,
//!   as from a file) whose own cost is measured alone and subtracted;
//! - peak RSS of one 256 MiB upload, each client in a fresh child process
//!   (this binary re-run in "single upload" mode): `VmHWM` after the upload,
//!   with the upload driven from the main thread (`block_on`, as under
//!   `#[tokio::main]` in a CLI) and from a worker task (as in a server).
//!
//! Run: `cargo bench -p plugbay-benches --bench storage`. The server is
//! `$PLUGBAY_S3S_BIN`, else `$PLUGBAY_CACHE/s3s/bin/s3s-fs` (default cache
//! `~/.cache/plugbay`, installed by `scripts/peers.d/s3s.sh`), or an
//! already running one named by `PLUGBAY_TEST_S3_ENDPOINT` (+ `_BUCKET`,
//! `_ACCESS_KEY`, `_SECRET_KEY`). Sizes: `PLUGBAY_BENCH_S3_LARGE_MIB`
//! (256), `PLUGBAY_BENCH_S3_SMALL_COUNT` (1000), `PLUGBAY_BENCH_S3_ROUNDS` (3).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

#[path = "storage/clients.rs"]
mod clients;
#[path = "storage/measure.rs"]
mod measure;
#[path = "storage/peer.rs"]
mod peer;

use std::collections::BTreeMap;
use std::process::Command;

use futures::StreamExt;

use clients::{Client, NAMES};
use measure::{CONCURRENCY, PART_SIZE, Sample, load_average, measure, pattern};
use peer::S3Peer;

const MIB: u64 = 1024 * 1024;
const GIB: f64 = 1024.0 * 1024.0 * 1024.0;
const SMALL_SIZE: usize = 64 * 1024;
/// Set in a child process: upload once with the named client, print RSS.
const CHILD_VAR: &str = "PLUGBAY_BENCH_S3_CHILD";
/// Set in a child process: drive the upload from a runtime worker task.
const CHILD_WORKER_VAR: &str = "PLUGBAY_BENCH_S3_CHILD_ON_WORKER";

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Phase {
    UploadLarge,
    DownloadLarge,
    UploadSmall,
    DownloadSmall,
}

impl Phase {
    const ALL: [Phase; 4] = [
        Phase::UploadLarge,
        Phase::DownloadLarge,
        Phase::UploadSmall,
        Phase::DownloadSmall,
    ];

    fn label(self, large_mib: u64, small_count: u64) -> String {
        match self {
            Phase::UploadLarge => format!("upload 1 × {large_mib} MiB"),
            Phase::DownloadLarge => format!("download 1 × {large_mib} MiB"),
            Phase::UploadSmall => format!("upload {small_count} × 64 KiB"),
            Phase::DownloadSmall => format!("download {small_count} × 64 KiB"),
        }
    }
}

fn main() {
    let large = env_number("PLUGBAY_BENCH_S3_LARGE_MIB", 256) * MIB;
    if let Ok(name) = std::env::var(CHILD_VAR) {
        child(&name, large);
        return;
    }
    // `cargo bench` passes `--bench`; a filter could come after it. Only
    // `--list` matters (cargo's test runner asks it), answered with nothing.
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let small_count = env_number("PLUGBAY_BENCH_S3_SMALL_COUNT", 1000);
    let rounds = env_number("PLUGBAY_BENCH_S3_ROUNDS", 3).max(1);
    let peer = match S3Peer::start() {
        Ok(peer) => peer,
        Err(why) => {
            if std::env::var("CI").as_deref() == Ok("true") {
                panic!("storage bench: {why}");
            }
            println!("storage bench skipped: {why}");
            return;
        }
    };
    let load_before = load_average();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let pattern = pattern();
    // `PLUGBAY_BENCH_S3_ONLY=opendal` keeps the clients whose name has that
    // text (for profiling one client).
    let only = std::env::var("PLUGBAY_BENCH_S3_ONLY").unwrap_or_default();
    let names: Vec<&str> = NAMES
        .into_iter()
        .filter(|n| n.contains(only.as_str()))
        .collect();
    let clients: Vec<(&str, Client)> = names
        .iter()
        .map(|name| (*name, Client::build(name, &peer).unwrap()))
        .collect();
    let small = pattern.slice(..SMALL_SIZE);

    let mut samples: BTreeMap<(Phase, &str), Vec<Sample>> = BTreeMap::new();
    let mut source_cpu = Vec::new();
    runtime.block_on(async {
        // Warm-up: connections, credentials, the bucket's folder.
        for (name, client) in &clients {
            let key = format!("warm/{}", slug(name));
            client.put_small(&key, small.clone()).await.unwrap();
            assert_eq!(client.get_small(&key).await.unwrap(), SMALL_SIZE as u64);
        }
        for round in 0..rounds as usize {
            // The source's own cost (fresh chunks + one memcpy per byte).
            let (_, sample) = measure(async {
                let mut chunks = measure::source(&pattern, large);
                while let Some(chunk) = chunks.next().await {
                    std::hint::black_box(chunk);
                }
            })
            .await;
            source_cpu.push(sample.cpu);
            for phase in Phase::ALL {
                for i in 0..clients.len() {
                    let (name, client) = &clients[(i + round) % clients.len()];
                    let key = format!("large/{}", slug(name));
                    let prefix = format!("small/{}", slug(name));
                    // Each phase runs as a task on a runtime worker, as a
                    // request handler would: driven from `block_on`, every
                    // chunk would cost a cross-thread wake-up.
                    let (client, pattern, small) = (client.clone(), pattern.clone(), small.clone());
                    let count = small_count as usize;
                    let (bytes, sample) = match phase {
                        Phase::UploadLarge => {
                            let (r, s) = measure(on_worker(async move {
                                client.upload(&key, &pattern, large).await.map(|()| large)
                            }))
                            .await;
                            (r.unwrap(), s)
                        }
                        Phase::DownloadLarge => {
                            let (r, s) =
                                measure(on_worker(async move { client.download(&key).await }))
                                    .await;
                            (r.unwrap(), s)
                        }
                        Phase::UploadSmall => {
                            let (r, s) = measure(on_worker(async move {
                                client.put_many(&prefix, count, &small).await
                            }))
                            .await;
                            r.unwrap();
                            (small_count * SMALL_SIZE as u64, s)
                        }
                        Phase::DownloadSmall => {
                            let (r, s) =
                                measure(on_worker(
                                    async move { client.get_many(&prefix, count).await },
                                ))
                                .await;
                            (r.unwrap(), s)
                        }
                    };
                    let expected = match phase {
                        Phase::UploadLarge | Phase::DownloadLarge => large,
                        _ => small_count * SMALL_SIZE as u64,
                    };
                    assert_eq!(
                        bytes, expected,
                        "{name}: {phase:?} moved a wrong byte count"
                    );
                    samples.entry((phase, name)).or_default().push(sample);
                }
            }
        }
    });
    drop(clients);
    drop(runtime);

    type Rss = Result<(u64, u64), String>;
    let rss: Vec<(&str, Rss, Rss)> = names
        .iter()
        .map(|name| {
            let main = child_rss(name, &peer, large, false);
            let worker = child_rss(name, &peer, large, true);
            (*name, main, worker)
        })
        .collect();
    let load_after = load_average();

    let source_per_gib = median(&source_cpu) / (large as f64 / GIB);
    println!();
    println!(
        "storage over S3 (s3s-fs on loopback, {} MiB parts × {CONCURRENCY}, {rounds} rounds, medians; load {load_before} → {load_after} on {} cores)",
        PART_SIZE as u64 / MIB,
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(0),
    );
    println!(
        "upload source (fresh 1 MiB chunks, one memcpy per byte): {source_per_gib:.3} CPU-s/GiB, subtracted from the upload rows"
    );
    println!();
    println!(
        "| {:<26} | {:<24} | {:>8} | {:>13} | {:>13} |",
        "client", "workload", "MiB/s", "CPU-s / GiB", "CPU-s / phase"
    );
    println!(
        "| {} | {} | {}: | {}: | {}: |",
        "-".repeat(26),
        "-".repeat(24),
        "-".repeat(7),
        "-".repeat(12),
        "-".repeat(12)
    );
    for phase in Phase::ALL {
        for name in names.iter().copied() {
            let list = &samples[&(phase, name)];
            let bytes = match phase {
                Phase::UploadLarge | Phase::DownloadLarge => large,
                _ => small_count * SMALL_SIZE as u64,
            } as f64;
            let wall = median(
                &list
                    .iter()
                    .map(|s| s.wall.as_secs_f64())
                    .collect::<Vec<_>>(),
            );
            let mut cpu = median(&list.iter().map(|s| s.cpu).collect::<Vec<_>>());
            // Small bodies share one buffer: only the large upload reads the source.
            if phase == Phase::UploadLarge {
                cpu -= median(&source_cpu);
            }
            println!(
                "| {:<26} | {:<24} | {:>8.0} | {:>13.3} | {:>13.3} |",
                name,
                phase.label(large / MIB, small_count),
                bytes / MIB as f64 / wall,
                cpu / (bytes / GIB),
                cpu,
            );
        }
    }
    println!();
    println!(
        "peak RSS of one {} MiB upload in a fresh process (VmHWM, MiB), driven from the main thread (block_on, a CLI) or from a runtime worker task (a server); RSS before the upload in brackets:",
        large / MIB
    );
    println!();
    println!(
        "| {:<26} | {:>18} | {:>18} |",
        "client", "main thread", "worker task"
    );
    println!(
        "| {} | {}: | {}: |",
        "-".repeat(26),
        "-".repeat(17),
        "-".repeat(17)
    );
    let cell = |r: &Rss| match r {
        Ok((before, peak)) => format!(
            "{:.1} ({:.1})",
            *peak as f64 / 1024.0,
            *before as f64 / 1024.0
        ),
        Err(why) => format!("failed: {why}"),
    };
    for (name, main, worker) in &rss {
        println!(
            "| {:<26} | {:>18} | {:>18} |",
            name,
            cell(main),
            cell(worker)
        );
    }
    if let Some(pid) = peer.pid() {
        println!();
        println!("(server: s3s-fs pid {pid}, started by the bench, stopped now)");
    }
}

/// Child mode: one upload with `name`, then `RSS <before KiB> <peak KiB>`.
/// The upload is driven from the main thread (`block_on`, as under
/// `#[tokio::main]` in a CLI) or from a worker task (as in a server).
fn child(name: &str, large: u64) {
    let on_worker_thread = std::env::var(CHILD_WORKER_VAR).is_ok();
    let peer = S3Peer::start().unwrap();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let pattern = pattern();
    runtime.block_on(async {
        let client = Client::build(name, &peer).unwrap();
        // A first small request, so connection setup is in the baseline.
        let key = format!("rss/{}", slug(name));
        client.put_small(&key, pattern.slice(..1024)).await.unwrap();
        let pattern = pattern.clone();
        let before = measure::proc_status_kib("VmRSS").unwrap_or(0);
        if on_worker_thread {
            on_worker(async move { client.upload(&key, &pattern, large).await })
                .await
                .unwrap();
        } else {
            client.upload(&key, &pattern, large).await.unwrap();
        }
        let peak = measure::proc_status_kib("VmHWM").unwrap_or_else(measure::max_rss_kib);
        println!("RSS {before} {peak}");
    });
}

/// Run this binary in child mode against the same server.
fn child_rss(
    name: &str,
    peer: &S3Peer,
    large: u64,
    on_worker_thread: bool,
) -> Result<(u64, u64), String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let mut command = Command::new(exe);
    if on_worker_thread {
        command.env(CHILD_WORKER_VAR, "1");
    }
    let output = command
        .env(CHILD_VAR, name)
        .env("PLUGBAY_BENCH_S3_LARGE_MIB", (large / MIB).to_string())
        .env("PLUGBAY_TEST_S3_ENDPOINT", &peer.endpoint)
        .env("PLUGBAY_TEST_S3_BUCKET", &peer.bucket)
        .env("PLUGBAY_TEST_S3_ACCESS_KEY", &peer.access_key)
        .env("PLUGBAY_TEST_S3_SECRET_KEY", &peer.secret_key)
        .output()
        .map_err(|e| e.to_string())?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let line = stdout
        .lines()
        .find_map(|l| l.strip_prefix("RSS "))
        .ok_or_else(|| {
            format!(
                "child said nothing ({}): {}",
                output.status,
                String::from_utf8_lossy(&output.stderr).trim()
            )
        })?;
    let mut parts = line
        .split_whitespace()
        .map(|v| v.parse::<u64>().unwrap_or(0));
    Ok((parts.next().unwrap_or(0), parts.next().unwrap_or(0)))
}

/// Run `task` on a runtime worker thread.
async fn on_worker<T: Send + 'static>(task: impl Future<Output = T> + Send + 'static) -> T {
    tokio::spawn(task).await.expect("a bench task panicked")
}

fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    match sorted.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => sorted[n / 2],
        n => (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0,
    }
}

fn slug(name: &str) -> String {
    name.chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect()
}
