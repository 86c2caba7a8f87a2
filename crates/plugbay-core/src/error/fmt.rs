//! `Display` and `Debug` for [`Error`]; both redact the message, every
//! context value and the source chain.

use std::error::Error as StdError;
use std::fmt;

use super::Error;
use crate::redact::redact;

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = &self.inner;
        write!(f, "{}", inner.kind)?;
        match (&inner.provider, &inner.operation) {
            (Some(p), Some(o)) => write!(f, " ({p} {o})")?,
            (Some(p), None) => write!(f, " ({p})")?,
            (None, Some(o)) => write!(f, " ({o})")?,
            (None, None) => {}
        }
        write!(f, ": {}", redact(&inner.message))?;
        if let Some(status) = inner.status {
            write!(f, " [status {status}")?;
            if let Some(code) = &inner.provider_code {
                write!(f, ", code {}", redact(code))?;
            }
            f.write_str("]")?;
        }
        for (k, v) in &inner.context {
            write!(f, ", {k}={}", redact(v))?;
        }
        if let Some(id) = &inner.request_id {
            write!(f, ", request_id={}", redact(id))?;
        }
        if let Some(wait) = inner.retry_after {
            write!(f, ", retry after {} ms", wait.as_millis())?;
        }
        if f.alternate() {
            let mut source = inner
                .source
                .as_deref()
                .map(|s| s as &(dyn StdError + 'static));
            while let Some(s) = source {
                write!(f, ": {}", redact(&s.to_string()))?;
                source = s.source();
            }
        }
        Ok(())
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = &self.inner;
        let mut d = f.debug_struct("Error");
        d.field("kind", &inner.kind)
            .field("message", &redact(&inner.message));
        if let Some(p) = &inner.provider {
            d.field("provider", p);
        }
        if let Some(o) = &inner.operation {
            d.field("operation", o);
        }
        if let Some(s) = inner.status {
            d.field("status", &s);
        }
        if let Some(c) = &inner.provider_code {
            d.field("provider_code", &redact(c));
        }
        if let Some(r) = &inner.request_id {
            d.field("request_id", &redact(r));
        }
        if let Some(w) = inner.retry_after {
            d.field("retry_after", &w);
        }
        if let Some(r) = inner.retryable {
            d.field("retryable", &r);
        }
        if !inner.context.is_empty() {
            let ctx: Vec<(&str, String)> =
                inner.context.iter().map(|(k, v)| (*k, redact(v))).collect();
            d.field("context", &ctx);
        }
        if let Some(s) = &inner.source {
            d.field("source", &redact(&s.to_string()));
        }
        d.finish()
    }
}
