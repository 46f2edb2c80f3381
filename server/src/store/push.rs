//! The push state machine.
//!
//! ```text
//! pending ──► sending ──► sent
//!    │         │  ▲ ├───► failed        (surely not applied)
//!    │         │  │ └───► pending       (surely not applied, retried later)
//!    │         ▼  │
//!    │       unknown ───► sent | needs_review | failed
//!    │                          │
//!    └──► failed                └──► sent | failed   (settled by the merchant)
//! ```
//!
//! `sending` is committed before the call to TikTok Shop, so a crash leaves a trace; such pushes become
//! `unknown` at start and are reconciled (the package read at TikTok Shop) before anything is sent again.
//! A fulfillment has at most one open push (`pending`, `sending`, `unknown`, `needs_review`).

use std::fmt;

use serde::Serialize;

/// Where a push is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PushState {
    /// Planned, not sent yet.
    Pending,
    /// Committed before the call to TikTok Shop; the call may be under way.
    Sending,
    /// TikTok Shop applied it.
    Sent,
    /// The outcome is not known (timeout, crash, dropped answer): reconcile before sending again.
    Unknown,
    /// TikTok Shop holds something other than what we meant: the merchant decides.
    NeedsReview,
    /// Surely not applied.
    Failed,
}

impl PushState {
    /// Every state.
    pub const ALL: [Self; 6] = [
        Self::Pending,
        Self::Sending,
        Self::Sent,
        Self::Unknown,
        Self::NeedsReview,
        Self::Failed,
    ];

    /// The state's name, as stored and as the API writes it.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Sending => "sending",
            Self::Sent => "sent",
            Self::Unknown => "unknown",
            Self::NeedsReview => "needs_review",
            Self::Failed => "failed",
        }
    }

    /// The state of a name, or `None`.
    #[must_use]
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == name)
    }

    /// Whether the push is still open: a fulfillment has at most one open push.
    #[must_use]
    pub const fn is_open(self) -> bool {
        !matches!(self, Self::Sent | Self::Failed)
    }

    /// Whether `self → to` is an edge of the state machine.
    #[must_use]
    pub const fn can_become(self, to: Self) -> bool {
        use PushState::{Failed, NeedsReview, Pending, Sending, Sent, Unknown};
        matches!(
            (self, to),
            (Pending, Sending | Failed)
                | (Sending, Sent | Unknown | Failed | Pending)
                | (Unknown, Sending | Sent | NeedsReview | Failed)
                | (NeedsReview, Sent | Failed)
        )
    }
}

impl fmt::Display for PushState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
