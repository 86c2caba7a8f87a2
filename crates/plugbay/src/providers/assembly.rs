//! The pieces a build assembles: each selected backend with its report
//! line and optional readiness probe.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;

use futures::future::BoxFuture;
use plugbay_core::Result;

use crate::report::{Concern, ConcernReport};

/// A readiness check for a backend the generic probe of its concern does
/// not fit (an LLM's free `GET /models`, Mem0's ping, a TEI server's info).
pub(crate) type Probe = Arc<dyn Fn() -> BoxFuture<'static, Result<()>> + Send + Sync>;

/// A probe's error when the peer answered but refused the credentials:
/// that backend is not ready (the generic probes count a refusal as an
/// answer, which is right for a token verifier but not for an API key).
#[cfg_attr(not(any(feature = "openai", feature = "mem0")), allow(dead_code))]
pub(crate) fn refused_key(error: plugbay_core::Error) -> plugbay_core::Error {
    use plugbay_core::{Error, ErrorKind};
    match error.kind() {
        ErrorKind::Unauthenticated | ErrorKind::PermissionDenied => {
            Error::config(format!("the credentials were refused: {}", error.message()))
        }
        _ => error,
    }
}

/// A backend chosen from settings: the value, its report line and, when the
/// concern's generic probe does not fit, its own readiness check.
pub(crate) struct Selected<T> {
    value: T,
    report: ConcernReport,
    probe: Option<Probe>,
}

impl<T> Selected<T> {
    pub(crate) fn new(value: T, report: ConcernReport) -> Selected<T> {
        Selected {
            value,
            report,
            probe: None,
        }
    }

    pub(crate) fn with_probe(mut self, probe: Option<Probe>) -> Selected<T> {
        self.probe = probe;
        self
    }
}

impl<T> From<(T, ConcernReport)> for Selected<T> {
    fn from((value, report): (T, ConcernReport)) -> Selected<T> {
        Selected::new(value, report)
    }
}

/// The report lines and custom probes gathered while building.
#[derive(Default)]
pub(super) struct Assembly {
    pub(super) reports: Vec<ConcernReport>,
    pub(super) probes: BTreeMap<Concern, Probe>,
}

impl Assembly {
    pub(super) fn push<T>(&mut self, concern: Concern, selected: Selected<T>) -> T {
        debug_assert_eq!(selected.report.concern, concern);
        if let Some(probe) = selected.probe {
            self.probes.insert(concern, probe);
        }
        self.reports.push(selected.report);
        selected.value
    }

    /// Use an override, reported as "set in code".
    pub(super) fn given<T>(
        &mut self,
        concern: Concern,
        value: T,
        name: impl FnOnce(&T) -> String,
    ) -> T {
        self.reports.push(overridden(concern, name(&value)));
        value
    }

    /// The override if there is one (reported as "set in code"), else what
    /// the settings select (the future is not polled for an override).
    pub(super) async fn pick<T>(
        &mut self,
        given: Option<T>,
        concern: Concern,
        name: impl FnOnce(&T) -> String,
        select: impl Future<Output = Result<Selected<T>>>,
    ) -> Result<T> {
        match given {
            Some(value) => Ok(self.given(concern, value, name)),
            None => Ok(self.push(concern, select.await?)),
        }
    }
}

pub(super) fn overridden(concern: Concern, backend: impl Into<String>) -> ConcernReport {
    ConcernReport::new(concern, backend, false).with_note("set in code")
}
