// The check behind the `store_replay` fuzz target, shared with tests/fuzz_corpus_store_replay.rs
// through `include!` so the corpus replays through exactly the same code path.
//
// The first byte picks how the rest is read:
//   0: a whole journal file           1: a journal body behind a valid header
//   2: a whole snapshot file          3: a snapshot with every checksum recomputed
//   4: a journal body whose frames get valid checksums (so the record decoder is reached)
// Whatever the bytes, decoding must return (a value or a typed error) without panicking, and a
// value must re-encode to the same state (journals: the records read, which may skip damaged
// stretches; snapshots: the same entries).

#[allow(dead_code)]
fn check_store_bytes(data: &[u8]) {
    use referral_dedup::store::{encode_journal, encode_snapshot, scan_journal, SnapshotColumns};
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let path = std::path::Path::new("fuzz-input");
    let header = encode_journal(1, &[]).expect("empty journal");
    let journal = match mode % 5 {
        0 => Some(rest.to_vec()),
        1 => Some([header.as_slice(), rest].concat()),
        4 => Some([header.as_slice(), &fix_frame_checksums(rest)].concat()),
        _ => None,
    };
    if let Some(bytes) = journal {
        if let Ok(scan) = scan_journal(&bytes, path, None) {
            let valid = scan.valid_len as usize;
            assert!(valid <= bytes.len());
            if scan.torn.is_none() && scan.damaged.is_empty() {
                assert!(valid == bytes.len() || bytes.len() < header.len());
            }
            for c in scan.damaged.iter().chain(scan.torn.iter()) {
                assert!(c.offset as usize <= bytes.len());
            }
            // Whatever was read re-encodes and reads back the same, cleanly.
            let again = encode_journal(1, &scan.records).expect("re-encode");
            let back = scan_journal(&again, path, Some(1)).expect("re-scan");
            assert_eq!(back.records, scan.records);
            assert!(back.torn.is_none() && back.damaged.is_empty());
        }
        return;
    }
    let bytes = if mode % 5 == 3 { fix_snapshot_checksums(rest) } else { rest.to_vec() };
    if let Ok(cols) = SnapshotColumns::decode(bytes, path.to_path_buf()) {
        let entries = cols.entries().expect("validated snapshot");
        assert_eq!(entries.len(), cols.len());
        let resolutions = cols.resolutions();
        assert_eq!(cols.pdq().count(), entries.iter().filter(|e| e.hashes.pdq.is_some()).count());
        assert_eq!(cols.dhash().count(), entries.iter().filter(|e| e.hashes.dhash.is_some()).count());
        assert_eq!(cols.phash().count(), entries.iter().filter(|e| e.hashes.phash.is_some()).count());
        let extra: usize = entries.iter().map(|e| e.hashes.extra_pdq.len()).sum();
        assert_eq!(cols.extra_pdq().count(), extra);
        let again = encode_snapshot(&entries, &resolutions, cols.first_journal()).expect("re-encode");
        let back = SnapshotColumns::decode(again, path.to_path_buf()).expect("re-decode");
        assert_eq!(back.entries().expect("entries"), entries);
        assert_eq!(back.resolutions(), resolutions);
    }
}

/// Rewrites each frame's checksum (frames as laid out by their length fields, which are kept).
#[allow(dead_code)]
fn fix_frame_checksums(body: &[u8]) -> Vec<u8> {
    let mut out = body.to_vec();
    let mut pos = 0usize;
    while pos + 8 <= out.len() {
        let len = u32::from_le_bytes([out[pos], out[pos + 1], out[pos + 2], out[pos + 3]]) as usize;
        let Some(end) = (pos + 8).checked_add(len).filter(|&e| e <= out.len()) else {
            break;
        };
        let mut h = crc32fast::Hasher::new();
        h.update(&out[pos..pos + 4]);
        h.update(&out[pos + 8..end]);
        let crc = h.finalize().to_le_bytes();
        out[pos + 4..pos + 8].copy_from_slice(&crc);
        pos = end;
    }
    out
}

/// Rewrites the header, section and table checksums of a would-be snapshot.
#[allow(dead_code)]
fn fix_snapshot_checksums(bytes: &[u8]) -> Vec<u8> {
    const HEADER: usize = 64;
    let mut out = bytes.to_vec();
    if out.len() < HEADER {
        return out;
    }
    // The header's section count (13 in version 1, 17 in version 2).
    let declared = u32::from_le_bytes([out[12], out[13], out[14], out[15]]) as usize;
    let sections = declared.min(64);
    if out.len() < HEADER + sections * 24 + 8 {
        return out;
    }
    let crc = crc32fast::hash(&out[..HEADER - 4]).to_le_bytes();
    out[HEADER - 4..HEADER].copy_from_slice(&crc);
    for s in 0..sections {
        let at = HEADER + s * 24;
        let word = |i: usize| {
            let mut b = [0u8; 8];
            b.copy_from_slice(&out[i..i + 8]);
            u64::from_le_bytes(b)
        };
        let (off, len) = (word(at + 8), word(at + 16));
        if let Some(end) = off.checked_add(len).filter(|&e| e <= out.len() as u64) {
            let crc = crc32fast::hash(&out[off as usize..end as usize]).to_le_bytes();
            out[at + 4..at + 8].copy_from_slice(&crc);
        }
    }
    let table_end = HEADER + sections * 24;
    let crc = crc32fast::hash(&out[HEADER..table_end]).to_le_bytes();
    out[table_end..table_end + 4].copy_from_slice(&crc);
    out
}
