//! What is measured besides wall time: the process's own CPU time
//! (`getrusage(RUSAGE_SELF)`: every thread of the runtime, none of the
//! server's, which runs in another process), peak RSS (`VmHWM`), the
//! machine's load, and the upload source every client reads from.

use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::{Stream, StreamExt};
use nix::sys::resource::{UsageWho, getrusage};

/// One part of a multipart upload, and the parts in flight, for every client.
pub(crate) const PART_SIZE: usize = 8 * 1024 * 1024;
pub(crate) const CONCURRENCY: usize = 4;
/// The chunk size of the upload source (what a file reader would yield).
pub(crate) const SOURCE_CHUNK: usize = 1024 * 1024;

/// User + system CPU seconds of this process so far.
pub(crate) fn cpu_seconds() -> f64 {
    match getrusage(UsageWho::RUSAGE_SELF) {
        Ok(usage) => {
            let tv = |t: nix::sys::time::TimeVal| t.tv_sec() as f64 + t.tv_usec() as f64 / 1e6;
            tv(usage.user_time()) + tv(usage.system_time())
        }
        Err(_) => f64::NAN,
    }
}

/// `ru_maxrss` of this process in KiB.
pub(crate) fn max_rss_kib() -> u64 {
    getrusage(UsageWho::RUSAGE_SELF)
        .map(|u| u64::try_from(u.max_rss()).unwrap_or(0))
        .unwrap_or(0)
}

/// A `/proc/self/status` field in KiB (`VmRSS`, `VmHWM`).
pub(crate) fn proc_status_kib(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status.lines().find_map(|line| {
        let rest = line.strip_prefix(field)?.strip_prefix(':')?;
        rest.trim().trim_end_matches("kB").trim().parse().ok()
    })
}

/// The 1-minute load average.
pub(crate) fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next().map(str::to_owned))
        .unwrap_or_else(|| "?".into())
}

/// Wall time and CPU seconds of one phase.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Sample {
    pub(crate) wall: Duration,
    pub(crate) cpu: f64,
}

/// Run `phase` and measure it.
pub(crate) async fn measure<F, T>(phase: F) -> (T, Sample)
where
    F: Future<Output = T>,
{
    let cpu = cpu_seconds();
    let start = Instant::now();
    let out = phase.await;
    let wall = start.elapsed();
    (
        out,
        Sample {
            wall,
            cpu: cpu_seconds() - cpu,
        },
    )
}

/// 1 MiB of pseudo-random bytes (incompressible, no two chunks alike
/// once stamped).
pub(crate) fn pattern() -> Bytes {
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut out = Vec::with_capacity(SOURCE_CHUNK);
    while out.len() < SOURCE_CHUNK {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        out.extend_from_slice(&state.to_le_bytes());
    }
    Bytes::from(out)
}

/// `total` bytes as freshly allocated 1 MiB chunks, as a file reader would
/// hand them out: nothing is shared between chunks, so a client that keeps
/// chunks alive pays for them in RSS, and nothing is held before it is asked
/// for. Costs one memcpy per byte, measured separately as the "source" row.
pub(crate) fn source(
    pattern: &Bytes,
    total: u64,
) -> impl Stream<Item = Bytes> + Send + 'static + use<> {
    let pattern = pattern.clone();
    let chunks = total.div_ceil(SOURCE_CHUNK as u64);
    futures::stream::iter(0..chunks).map(move |i| {
        let start = i * SOURCE_CHUNK as u64;
        let len = (total - start).min(SOURCE_CHUNK as u64) as usize;
        let mut chunk = pattern[..len].to_vec();
        // Stamp the chunk number so parts differ.
        chunk[..8].copy_from_slice(&i.to_le_bytes());
        Bytes::from(chunk)
    })
}
