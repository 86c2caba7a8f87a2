//! [`IdleTimer`]: bounds the silence between the chunks of a streamed
//! reply, so a long generation is never cut for its length while a server
//! that stops sending mid-stream is still noticed.
//!
//! It costs nothing per chunk (a flag is set): its one timer is polled
//! only when the body has nothing to give and the stream is about to wait
//! anyway, and it is re-armed from the time of the last data only when it
//! fires.

use std::future::Future;
use std::pin::Pin;
use std::task::Context;
use std::time::Duration;

use tokio::time::{Instant, Sleep};

/// A silence limit between chunks; see the module docs.
#[derive(Debug)]
pub(crate) struct IdleTimer {
    limit: Duration,
    sleep: Pin<Box<Sleep>>,
    last_data: Instant,
    fresh: bool,
}

impl IdleTimer {
    /// A timer whose silence starts now.
    pub(crate) fn new(limit: Duration) -> IdleTimer {
        let now = Instant::now();
        IdleTimer {
            limit,
            sleep: Box::pin(tokio::time::sleep_until(now + limit)),
            last_data: now,
            fresh: false,
        }
    }

    /// The limit.
    pub(crate) fn limit(&self) -> Duration {
        self.limit
    }

    /// Data arrived.
    pub(crate) fn data(&mut self) {
        self.fresh = true;
    }

    /// The body has nothing now: `true` when it has been silent for the
    /// limit; otherwise the timer is registered to wake `cx` when the
    /// limit could be reached.
    pub(crate) fn expired(&mut self, cx: &mut Context<'_>) -> bool {
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
