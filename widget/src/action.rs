//! What a control of the widget does: its `data-action` attribute, which the app's one click listener
//! and one input listener read.

/// A control's action.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// A filter of the list (the filter is the button's `data-filter`).
    Filter,
    /// Open a fulfillment's dialog (the fulfillment is its row's `data-row`).
    Open,
    /// Load the fulfillments again.
    Reload,
    /// Sync every fulfillment whose first push would succeed.
    SyncAll,
    /// Close the dialog.
    Close,
    /// Sync the dialog's fulfillment again.
    Resync,
    /// Save the tracking number typed in the dialog.
    SaveTracking,
    /// Save the carrier mapping chosen in the dialog.
    SaveMapping,
    /// The tracking number field: each key press checks it again.
    Tracking,
    /// Link the dialog's fulfillment to the TikTok Shop order id typed.
    LinkOrder,
    /// Open TikTok Shop's authorization page, to connect the shop (or connect it again).
    Connect,
}

impl Action {
    const ALL: [Self; 11] = [
        Self::Filter,
        Self::Open,
        Self::Reload,
        Self::SyncAll,
        Self::Close,
        Self::Resync,
        Self::SaveTracking,
        Self::SaveMapping,
        Self::Tracking,
        Self::LinkOrder,
        Self::Connect,
    ];

    /// Its `data-action` attribute.
    pub const fn attr(self) -> &'static str {
        match self {
            Self::Filter => "filter",
            Self::Open => "open",
            Self::Reload => "reload",
            Self::SyncAll => "sync-all",
            Self::Close => "close",
            Self::Resync => "resync",
            Self::SaveTracking => "save-tracking",
            Self::SaveMapping => "save-mapping",
            Self::Tracking => "tracking",
            Self::LinkOrder => "link-order",
            Self::Connect => "connect",
        }
    }

    /// The action a `data-action` attribute names, if any.
    pub fn parse(attr: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.attr() == attr)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_action_reads_back_from_its_attribute() {
        for action in Action::ALL {
            assert_eq!(Action::parse(action.attr()), Some(action));
        }
        assert_eq!(Action::parse("sync all"), None);
    }
}
