//! How a store is opened: [`StoreOptions`] and the [`FsyncPolicy`] for appends.

/// When appended records are fsynced.
///
/// ```
/// use referral_dedup::store::{FsyncPolicy, StoreOptions};
/// assert_eq!(StoreOptions::default().fsync, FsyncPolicy::EveryWrite);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FsyncPolicy {
    /// Every append is fsynced before it returns: an acknowledged record survives a power cut.
    #[default]
    EveryWrite,
    /// Appends are written to the OS at once and fsynced by a background flusher at most this
    /// many milliseconds later (0 is treated as 1): a power cut loses at most that window.
    EveryMillis(u64),
    /// Appends are written to the OS but never fsynced by the store (only by
    /// [`Store::sync`](super::Store::sync), snapshots and dropping the store): survives a process crash, not a
    /// power cut.
    Never,
}

/// How a [`Store`](super::Store) is opened.
///
/// ```
/// use referral_dedup::store::{FsyncPolicy, StoreOptions};
/// let opts = StoreOptions::default().with_fsync(FsyncPolicy::EveryMillis(50));
/// assert_eq!(opts.fsync, FsyncPolicy::EveryMillis(50));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
pub struct StoreOptions {
    /// When appends are fsynced. Default: [`FsyncPolicy::EveryWrite`].
    pub fsync: FsyncPolicy,
    /// When another process holds the store, wait for it instead of failing with
    /// [`StoreError::Locked`](super::StoreError::Locked). Default: false.
    pub wait_for_lock: bool,
    /// Create the directory and an empty store when there is none. Default: true; when false, a
    /// missing store is [`StoreError::NotADatabase`](super::StoreError::NotADatabase).
    pub create: bool,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            fsync: FsyncPolicy::default(),
            wait_for_lock: false,
            create: true,
        }
    }
}

impl StoreOptions {
    /// Sets the fsync policy.
    pub fn with_fsync(mut self, fsync: FsyncPolicy) -> Self {
        self.fsync = fsync;
        self
    }

    /// Waits for another writer instead of failing.
    pub fn with_wait_for_lock(mut self, wait: bool) -> Self {
        self.wait_for_lock = wait;
        self
    }

    /// Whether a missing store is created.
    pub fn with_create(mut self, create: bool) -> Self {
        self.create = create;
        self
    }
}
