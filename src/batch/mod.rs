//! Batch deduplication of a referral backlog into clusters. (Being built: see issue 5.)
