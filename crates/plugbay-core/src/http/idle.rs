//! Bounds on the silence of a streamed response body: [`IdleTimer`] (for
//! streams that drive their body themselves, like an LLM reply) and
//! [`IdleBounded`] (a byte-stream adapter, for downloads).
//!
//! A long body is never cut for its length, while one that stops sending is
//! noticed. Per chunk this costs a flag: the timer is polled only when the
//! body has nothing to give and the stream is about to wait anyway, and it
//! is re-armed from the time of the last data only when it fires. Unlike
//! reqwest's `read_timeout`, nothing bounds the sending of a request: an
//! upload is bounded by its call's timeout alone.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use futures::Stream;
use tokio::time::{Instant, Sleep};

use crate::error::{Error, ErrorKind, Result};

/// A silence limit between the chunks of a body the caller drives itself;
/// see the module docs. Call [`IdleTimer::data`] for each chunk and
/// [`IdleTimer::expired`] when the body is pending.
#[derive(Debug)]
pub struct IdleTimer {
    limit: Duration,
    sleep: Pin<Box<Sleep>>,
    last_data: Instant,
    fresh: bool,
}

impl IdleTimer {
    /// A timer whose silence starts now.
    pub fn new(limit: Duration) -> IdleTimer {
        let now = Instant::now();
        IdleTimer {
            limit,
            sleep: Box::pin(tokio::time::sleep_until(now + limit)),
            last_data: now,
            fresh: false,
        }
    }

    /// The limit.
    pub fn limit(&self) -> Duration {
        self.limit
    }

    /// Data arrived.
    pub fn data(&mut self) {
        self.fresh = true;
    }

    /// The body has nothing now: `true` when it has been silent for the
    /// limit; otherwise the timer is registered to wake `cx` when the
    /// limit could be reached.
    pub fn expired(&mut self, cx: &mut Context<'_>) -> bool {
        if self.fresh {
            self.fresh = false;
            self.last_data = Instant::now();
        }
        loop {
            if self.sleep.as_mut().poll(cx).is_pending() {
                return false;
            }
            let due = self.last_data + self.limit;
            if Instant::now() >= due {
                return true;
            }
            self.sleep.as_mut().reset(due);
        }
    }
}

/// A response body whose each wait for bytes is bounded by an
/// [`IdleTimer`]: transport errors are mapped with
/// [`map_reqwest_error`](super::map_reqwest_error), and a silence of the
/// limit ends the stream with an [`ErrorKind::Timeout`] item.
///
/// Use it with a call marked [`Call::head_timeout_only`](super::Call::head_timeout_only),
/// so the call's timeout bounds the wait for the head and this the body.
#[derive(Debug)]
pub struct IdleBounded<S> {
    inner: S,
    timer: IdleTimer,
    done: bool,
}

impl<S> IdleBounded<S> {
    /// Bound `body`'s silences by `limit`, starting now.
    pub fn new(body: S, limit: Duration) -> IdleBounded<S> {
        IdleBounded {
            inner: body,
            timer: IdleTimer::new(limit),
            done: false,
        }
    }
}

impl<S> Stream for IdleBounded<S>
where
    S: Stream<Item = reqwest::Result<Bytes>> + Unpin,
{
    type Item = Result<Bytes>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        if this.done {
            return Poll::Ready(None);
        }
        match Pin::new(&mut this.inner).poll_next(cx) {
            Poll::Ready(Some(Ok(chunk))) => {
                this.timer.data();
                Poll::Ready(Some(Ok(chunk)))
            }
            Poll::Ready(Some(Err(e))) => {
                this.done = true;
                Poll::Ready(Some(Err(super::map_reqwest_error(e))))
            }
            Poll::Ready(None) => {
                this.done = true;
                Poll::Ready(None)
            }
            Poll::Pending if this.timer.expired(cx) => {
                this.done = true;
                Poll::Ready(Some(Err(Error::new(
                    ErrorKind::Timeout,
                    format!(
                        "the response body sent nothing for {} ms",
                        this.timer.limit().as_millis()
                    ),
                ))))
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::future::poll_fn;
    use std::task::Poll;

    /// Wait until the timer says the silence ran out (as the stream does
    /// when its body is pending).
    async fn wait_expired(timer: &mut IdleTimer) {
        poll_fn(|cx| {
            if timer.expired(cx) {
                Poll::Ready(())
            } else {
                Poll::Pending
            }
        })
        .await;
    }

    #[tokio::test(start_paused = true)]
    async fn fires_after_the_limit_of_silence() {
        let start = Instant::now();
        let mut timer = IdleTimer::new(Duration::from_secs(10));
        wait_expired(&mut timer).await;
        assert_eq!(start.elapsed(), Duration::from_secs(10));
    }

    #[tokio::test(start_paused = true)]
    async fn data_pushes_the_limit_back() {
        let start = Instant::now();
        let mut timer = IdleTimer::new(Duration::from_secs(10));
        // Data at 4 s and 12 s: silence then runs out at 22 s, not at 10 s.
        for at in [4, 12] {
            tokio::time::sleep_until(start + Duration::from_secs(at)).await;
            timer.data();
            let waker = futures::task::noop_waker();
            assert!(!timer.expired(&mut Context::from_waker(&waker)));
        }
        wait_expired(&mut timer).await;
        assert_eq!(start.elapsed(), Duration::from_secs(22));
    }

    #[tokio::test(start_paused = true)]
    async fn a_consumer_that_paused_is_not_timed_out_for_its_own_pause() {
        let start = Instant::now();
        let waker = futures::task::noop_waker();
        let mut timer = IdleTimer::new(Duration::from_secs(10));
        timer.data();
        assert!(!timer.expired(&mut Context::from_waker(&waker)));
        // The consumer reads nothing for 30 s, then drains what the body
        // had buffered: the silence starts now, not 30 s ago.
        tokio::time::sleep_until(start + Duration::from_secs(30)).await;
        timer.data();
        assert!(!timer.expired(&mut Context::from_waker(&waker)));
        wait_expired(&mut timer).await;
        assert_eq!(start.elapsed(), Duration::from_secs(40));
    }
}
