//! Readiness probes: one cheap, side-effect-free call per concern.

use std::future::Future;
use std::time::{Duration, Instant};

use futures::future::{BoxFuture, FutureExt, join_all};
use plugbay_cache::Quota;
use plugbay_core::{Error, ErrorKind, Result};
use plugbay_data::Filter;
use plugbay_llm::{ChatRequest, EmbeddingModelExt};
use plugbay_memory::{Page, Scope};
use plugbay_storage::ListOptions;

use super::Providers;
use super::select::answered;
use crate::report::{Concern, ConcernReport, ConcernStatus};

/// Namespace the probes touch, so they never meet real data.
const PROBE: &str = "plugbay-readyz";

pub(super) async fn readiness(providers: &Providers, timeout: Duration) -> Vec<ConcernStatus> {
    let probes = providers
        .reports
        .iter()
        .map(|report| run(report.clone(), probe(providers, report.concern), timeout));
    join_all(probes).await
}

async fn run(
    report: ConcernReport,
    check: BoxFuture<'_, Result<()>>,
    timeout: Duration,
) -> ConcernStatus {
    let started = Instant::now();
    let outcome = match tokio::time::timeout(timeout, check).await {
        Ok(outcome) => outcome,
        Err(_) => Err(Error::new(ErrorKind::Timeout, "readiness probe timed out")),
    };
    let elapsed = started.elapsed();
    match outcome {
        Ok(()) => ConcernStatus::new(report, true, elapsed),
        Err(e) if answered(e.kind()) => ConcernStatus::new(report, true, elapsed),
        Err(e) => ConcernStatus::new(report, false, elapsed).with_error(e.to_string()),
    }
}

fn boxed<'a, F>(fut: F) -> BoxFuture<'a, Result<()>>
where
    F: Future<Output = Result<()>> + Send + 'a,
{
    fut.boxed()
}

fn probe(p: &Providers, concern: Concern) -> BoxFuture<'_, Result<()>> {
    if let Some(custom) = p.probes.get(&concern) {
        return custom();
    }
    match concern {
        Concern::Storage => boxed(async move {
            p.storage
                .list(PROBE, ListOptions::new().max_keys(1))
                .await
                .map(drop)
        }),
        Concern::Vectors => boxed(async move { p.vectors.count(PROBE, None).await.map(drop) }),
        Concern::Memory => boxed(async move {
            p.memory
                .list(&Scope::user(PROBE), Page::first(1))
                .await
                .map(drop)
        }),
        // Only local models are called: a probe must not spend tokens (remote
        // models bring their own probe, a free `GET /models`).
        Concern::Llm if p.llm_is_mock() => boxed(async move {
            p.chat
                .chat(ChatRequest::from_prompt("ping").max_tokens(1))
                .await
                .map(drop)
        }),
        Concern::Embeddings if matches!(p.embedder.provider(), "hashing" | "mock") => {
            boxed(async move { p.embedder.embed_one("ping").await.map(drop) })
        }
        Concern::Cache => boxed(p.kv.ping()),
        Concern::RateLimit => boxed(async move {
            p.rate_limiter
                .check(PROBE, &Quota::per_second(1_000))
                .await
                .map(drop)
        }),
        // A garbage token must be refused: that refusal is the answer.
        Concern::Auth => boxed(async move { p.token_verifier.verify(PROBE).await.map(drop) }),
        Concern::Documents => {
            boxed(async move { p.documents.count(PROBE, &Filter::all()).await.map(drop) })
        }
        _ => boxed(async { Ok(()) }),
    }
}
