//! The turn-taking section of the `llm` bench: the contestants take turns
//! job by job (so load from other processes falls on all of them alike),
//! and each one's median wall time and median client CPU time are printed.

use std::future::Future;
use std::hint::black_box;
use std::time::{Duration, Instant};

use nix::time::{ClockId, clock_gettime};
use plugbay_llm::ChatModel;
use tokio::runtime::Runtime;

use super::{Trio, clients, fixture, percentile, plugbay_decode};

/// One timed unit of work of one contestant.
type Job<'a> = Box<dyn Fn() -> std::pin::Pin<Box<dyn Future<Output = ()> + 'a>> + 'a>;

/// CPU time (user + system) of the calling thread so far: the client's
/// cost, as the bench runs every client on this thread's current-thread
/// runtime (async-openai's spawned stream task included) and the server on
/// its own thread.
fn thread_cpu() -> Duration {
    // CLOCK_THREAD_CPUTIME_ID brings the scheduler's count up to date when
    // read (getrusage(RUSAGE_THREAD) can lag by a tick).
    clock_gettime(ClockId::CLOCK_THREAD_CPUTIME_ID).map_or(Duration::ZERO, Duration::from)
}

/// One contestant's interleaved result: wall-time median and p90, and the
/// median client-thread CPU time per job.
#[derive(Debug, Clone, Copy)]
struct Turns {
    wall: Duration,
    wall_p90: Duration,
    cpu: Duration,
}

/// Median wall time (and client CPU time) per job of each contestant, the
/// contestants taking turns job by job, so that load from other processes
/// on the shared machine falls on all of them alike (criterion measures one
/// after the other, so a burst of load skews its ratios).
fn interleaved(rt: &Runtime, rounds: usize, jobs: &[(&str, Job<'_>)]) -> Vec<Turns> {
    let mut wall = vec![Vec::with_capacity(rounds); jobs.len()];
    let mut cpu = vec![Vec::with_capacity(rounds); jobs.len()];
    rt.block_on(async {
        for (_, job) in jobs {
            job().await; // warm up
        }
        for _ in 0..rounds {
            for (i, (_, job)) in jobs.iter().enumerate() {
                let cpu_start = thread_cpu();
                let start = Instant::now();
                job().await;
                wall[i].push(start.elapsed());
                cpu[i].push(thread_cpu().saturating_sub(cpu_start));
            }
        }
    });
    wall.into_iter()
        .zip(cpu)
        .map(|(mut w, mut c)| {
            w.sort();
            c.sort();
            Turns {
                wall: percentile(&w, 0.5),
                wall_p90: percentile(&w, 0.9),
                cpu: percentile(&c, 0.5),
            }
        })
        .collect()
}

fn print_interleaved(group: &str, unit: &str, jobs: &[(&str, Job<'_>)], result: &[Turns]) {
    let us = |d: Duration| format!("{:.1}us", d.as_secs_f64() * 1e6);
    let ratio = |a: Duration, b: Duration| a.as_secs_f64() / b.as_secs_f64();
    let mut line = format!("  {group:<21}");
    for ((name, _), turns) in jobs.iter().zip(result) {
        line.push_str(&format!(
            " {name} {} (p90 {})",
            us(turns.wall),
            us(turns.wall_p90)
        ));
    }
    for ((name, _), turns) in jobs.iter().zip(result).skip(1) {
        line.push_str(&format!(
            " | plugbay/{name} {:.2}x",
            ratio(result[0].wall, turns.wall)
        ));
    }
    println!("{line}  [wall time per {unit}]");
    let mut line = format!("  {:<21}", "");
    for ((name, _), turns) in jobs.iter().zip(result) {
        line.push_str(&format!(" {name} {}", us(turns.cpu)));
    }
    for ((name, _), turns) in jobs.iter().zip(result).skip(1) {
        line.push_str(&format!(
            " | plugbay/{name} {:.2}x",
            ratio(result[0].cpu, turns.cpu)
        ));
    }
    println!("{line}  [client CPU per {unit}]");
}

pub fn interleaved_ratios(rt: &Runtime, json: &Trio, bulk: &Trio, framed: &Trio, scale: usize) {
    println!();
    println!("interleaved medians (contestants take turns; robust to load shifts):");
    const CALLS: usize = 20;
    let chat: Vec<(&str, Job<'_>)> = vec![
        (
            "plugbay",
            Box::new(|| {
                Box::pin(async {
                    for _ in 0..CALLS {
                        black_box(json.plugbay.chat(clients::plugbay_request()).await.unwrap());
                    }
                })
            }),
        ),
        (
            "async-openai",
            Box::new(|| {
                Box::pin(async {
                    for _ in 0..CALLS {
                        black_box(
                            json.openai
                                .chat()
                                .create(clients::async_openai_request(false))
                                .await
                                .unwrap(),
                        );
                    }
                })
            }),
        ),
        (
            "hand-written",
            Box::new(|| {
                Box::pin(async {
                    for _ in 0..CALLS {
                        black_box(json.hand.chat().await);
                    }
                })
            }),
        ),
    ];
    let result = interleaved(rt, (100 * scale).max(1), &chat);
    print_interleaved("llm_chat", "20 calls", &chat, &result);
    for (group, trio) in [("llm_stream_bulk", bulk), ("llm_stream_framed", framed)] {
        let jobs: Vec<(&str, Job<'_>)> = vec![
            (
                "plugbay",
                Box::new(|| {
                    Box::pin(async {
                        black_box(trio.plugbay_stream().await);
                    })
                }),
            ),
            (
                "async-openai",
                Box::new(|| {
                    Box::pin(async {
                        black_box(trio.openai_stream().await);
                    })
                }),
            ),
            (
                "hand-written",
                Box::new(|| {
                    Box::pin(async {
                        black_box(trio.hand_stream().await);
                    })
                }),
            ),
        ];
        let result = interleaved(rt, (40 * scale).max(1), &jobs);
        print_interleaved(group, "stream", &jobs, &result);
    }
    for (group, events) in [
        ("llm_decode_in_memory", fixture::long_stream()),
        ("llm_decode_obfuscated", fixture::obfuscated_stream()),
    ] {
        let body: Vec<u8> = events.concat();
        let pieces: Vec<&[u8]> = body.chunks(16 * 1024).collect();
        let pieces = &pieces;
        let jobs: Vec<(&str, Job<'_>)> = vec![
            (
                "plugbay",
                Box::new(move || {
                    Box::pin(async move {
                        black_box(plugbay_decode(pieces));
                    })
                }),
            ),
            (
                "hand-written",
                Box::new(move || {
                    Box::pin(async move {
                        black_box(clients::hand_decode(pieces));
                    })
                }),
            ),
        ];
        let result = interleaved(rt, (60 * scale).max(1), &jobs);
        print_interleaved(group, "stream", &jobs, &result);
    }
}
