//! What the journal persists: one [`Record`] per change (an entry added or replaced, an entry
//! removed, a short link resolved).

use serde::{Deserialize, Serialize};

use crate::entry::EntryRecord;
use crate::hashes::EntryId;

/// One journal record.
///
/// ```
/// use referral_dedup::hashes::EntryId;
/// use referral_dedup::store::Record;
/// let r = Record::Delete(EntryId(3));
/// assert!(matches!(r, Record::Delete(EntryId(3))));
/// ```
// Records are built one at a time and encoded straight away, never stored in bulk, so the size
// of `Insert` costs nothing; boxing it would add an allocation per insert and change the API.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Record {
    /// Add (or replace) an entry.
    Insert(EntryRecord),
    /// Remove an entry (for example content restored after appeal): it must stop matching.
    Delete(EntryId),
    /// A short link was resolved (for example by a crawler) to a target URL: the short link's
    /// key and the target's key merge from then on.
    Resolve {
        /// The short link as keyed (its own URL key).
        short_key: String,
        /// The target URL it resolves to.
        target: String,
    },
}
