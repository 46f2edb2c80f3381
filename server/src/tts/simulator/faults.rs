//! The faults a test asks of the simulator: latency, answers delayed or dropped after the push
//! applied, and rate limits.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// How long a dropped answer is held unless set otherwise.
pub const DEFAULT_DROP_HOLD: Duration = Duration::from_secs(60);

/// A rate limit: at most `max` requests per `per`, across every endpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RateLimit {
    /// Requests allowed in a window.
    pub max: u32,
    /// The window.
    pub per: Duration,
}

/// A refusal for a rate limit, with the seconds to wait.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Throttled {
    /// Seconds to wait, sent as `Retry-After`.
    pub retry_after_secs: u64,
}

/// The faults in force.
#[derive(Debug, Default)]
pub(super) struct Faults {
    pub(super) latency: Duration,
    pub(super) answer_delay: Duration,
    pub(super) drop_answers: u32,
    pub(super) drop_hold: Duration,
    pub(super) rate_limit: Option<RateLimit>,
    pub(super) window: VecDeque<Instant>,
    pub(super) forced_429: u32,
    /// Requests refused for the rate limit so far.
    pub(super) throttled: u64,
    /// The next requests answered HTTP 503 (no envelope).
    pub(super) unavailable: u32,
    pub(super) forced_retry_after: Option<u64>,
    pub(super) ship_warning: Option<String>,
}

impl Faults {
    /// None, answers dropped over HTTP held for [`DEFAULT_DROP_HOLD`].
    pub(super) fn new() -> Self {
        Self {
            drop_hold: DEFAULT_DROP_HOLD,
            ..Self::default()
        }
    }

    /// Counts a request against the rate limit.
    pub(super) fn admit(&mut self) -> Result<(), Throttled> {
        let f = self;
        if f.forced_429 > 0 {
            f.forced_429 -= 1;
            f.throttled += 1;
            return Err(Throttled {
                retry_after_secs: f.forced_retry_after.unwrap_or(1),
            });
        }
        let Some(limit) = f.rate_limit else {
            return Ok(());
        };
        let now = Instant::now();
        while f
            .window
            .front()
            .is_some_and(|t| now.saturating_duration_since(*t) >= limit.per)
        {
            f.window.pop_front();
        }
        if u32::try_from(f.window.len()).unwrap_or(u32::MAX) >= limit.max {
            let wait = f.window.front().map_or(limit.per, |t| {
                limit.per.saturating_sub(now.saturating_duration_since(*t))
            });
            let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
            f.throttled += 1;
            return Err(Throttled {
                retry_after_secs: secs.max(1),
            });
        }
        f.window.push_back(now);
        Ok(())
    }
}
