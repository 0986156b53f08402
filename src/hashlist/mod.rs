//! Known-content hash lists: reading and writing the list formats (the engine imports and
//! exports through [`crate::engine::Engine::import_list`] and
//! [`crate::engine::Engine::known_items`]).
//!
//! Hash-sharing programmes exchange lists with one item per row and one hex hash per column. This
//! module reads and writes two layouts:
//!
//! - **CSV / TSV** with a header row naming the columns among `pdq, md5, sha256, blake3, dhash,
//!   phash, id, label, quality` (in any order, case-insensitive; other columns are ignored with a
//!   warning). Empty cells mean "absent".
//! - **JSONL**: one object per line with the same field names (`quality` is a number).
//!
//! Every row must carry at least one hash. A row that cannot be read (bad hex, quality out of
//! range, wrong number of cells, no hash) is reported with its line number and skipped; in
//! strict mode reading stops at the first bad row and nothing from the file is imported.
//!
//! CSV quoting is handled by the `csv` crate; the column mapping, validation and JSONL handling
//! are written here because they are specific to this list layout.
//!
//! ```
//! use referral_dedup::hashlist::{read_list, ListFormat};
//! let text = "id,pdq,quality\nposter-1,f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22,90\nbad,zz,1\n";
//! let list = read_list(text.as_bytes(), ListFormat::Csv, false).unwrap();
//! assert_eq!(list.items.len(), 1);
//! assert_eq!(list.errors.len(), 1);
//! assert_eq!(list.errors[0].line, 3);
//! ```

use std::io::Write;
use std::path::Path;
use std::str::FromStr;

use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::entry::{EntryRecord, EntrySource};
use crate::hashes::HashBundle;

mod columns;
mod read;

use columns::Column;

pub use read::read_list;

/// Why a hash list could not be read or written.
///
/// ```
/// use referral_dedup::hashlist::{read_list, HashListError, ListFormat};
/// let err = read_list("no,hash,columns\n".as_bytes(), ListFormat::Csv, true).unwrap_err();
/// assert!(matches!(err, HashListError::List(_)));
/// assert!("xml".parse::<ListFormat>().is_err());
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HashListError {
    /// The list has no usable header, or (strict mode) a bad row.
    #[error("hash list: {0}")]
    List(RowError),
    /// Reading or writing failed.
    #[error("I/O: {0}")]
    Io(#[from] std::io::Error),
    /// A list format name that is not `csv`, `tsv` or `jsonl`.
    #[error("invalid configuration: unknown list format {0:?} (expected csv, tsv or jsonl)")]
    UnknownFormat(String),
}

/// One known-content item as a hash list carries it.
///
/// In JSONL (and [`serde`]) an item is one object with the list's column names: `id`,
/// `label`, one key per hash kind (`pdq`, `md5`, `sha256`, `blake3`, `dhash`, `phash`) and
/// `quality` for the PDQ quality; absent values are left out, unknown keys ignored.
///
/// ```
/// use referral_dedup::hashes::HashBundle;
/// use referral_dedup::hashlist::KnownItem;
/// let md5 = "d41d8cd98f00b204e9800998ecf8427e".parse().unwrap();
/// let item = KnownItem { id: Some("poster-1".into()), hashes: HashBundle { md5: Some(md5), ..HashBundle::default() }, ..KnownItem::default() };
/// assert!(item.has_hash());
/// let json = serde_json::to_string(&item).unwrap();
/// assert_eq!(json, r#"{"id":"poster-1","md5":"d41d8cd98f00b204e9800998ecf8427e"}"#);
/// assert_eq!(serde_json::from_str::<KnownItem>(&json).unwrap(), item);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct KnownItem {
    /// The list's own id of the item (for example a hash-sharing database id).
    pub id: Option<String>,
    /// Free-text label (list name, campaign, category).
    pub label: Option<String>,
    /// The item's hashes. `pdq_quality` absent means the list did not say; the engine then
    /// trusts the list and applies no quality floor to this item. `extra_pdq` (trimmed box,
    /// crops, small rotations computed from the picture by
    /// [`Engine::add_known_file`](crate::engine::Engine::add_known_file)) is part of no list
    /// format.
    pub hashes: HashBundle,
}

impl Serialize for KnownItem {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let values: Vec<(Column, String)> = Column::written()
            .into_iter()
            .filter_map(|c| Some((c, c.get(self)?)))
            .collect();
        let mut map = s.serialize_map(Some(values.len()))?;
        for (column, value) in &values {
            if *column == Column::Quality {
                map.serialize_entry(column.name(), &self.hashes.pdq_quality)?;
            } else {
                map.serialize_entry(column.name(), value)?;
            }
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for KnownItem {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let fields = serde_json::Map::<String, serde_json::Value>::deserialize(d)?;
        let mut item = KnownItem::default();
        for (key, value) in &fields {
            let column = Column::from_header(key);
            let text = match value {
                serde_json::Value::Null => continue,
                serde_json::Value::String(s) => s.clone(),
                serde_json::Value::Number(n) if column == Column::Quality => n.to_string(),
                _ => return Err(D::Error::custom(format!("{key}: expected a string"))),
            };
            column.set(&mut item, &text).map_err(D::Error::custom)?;
        }
        Ok(item)
    }
}

impl KnownItem {
    /// True when the item carries at least one hash (an item with none can never match).
    ///
    /// ```
    /// use referral_dedup::hashlist::KnownItem;
    /// assert!(!KnownItem::default().has_hash());
    /// ```
    pub fn has_hash(&self) -> bool {
        self.hashes.has_any()
    }

    /// The item as a known-content entry with the given entry id. The entry's external id is
    /// the item's id, or `fallback_id` when the list gave none.
    ///
    /// ```
    /// use referral_dedup::hashlist::KnownItem;
    /// use referral_dedup::hashes::EntryId;
    /// let e = KnownItem::default().to_entry(EntryId(4), "row-2");
    /// assert_eq!(e.external_id, "row-2");
    /// ```
    pub fn to_entry(&self, id: crate::hashes::EntryId, fallback_id: &str) -> EntryRecord {
        let mut e = EntryRecord::new(
            id,
            EntrySource::Known,
            self.id.clone().unwrap_or_else(|| fallback_id.to_string()),
        );
        e.label = self.label.clone();
        e.hashes = self.hashes.clone();
        e
    }

    /// The list row for a known-content entry.
    ///
    /// ```
    /// use referral_dedup::hashlist::KnownItem;
    /// use referral_dedup::hashes::EntryId;
    /// use referral_dedup::store::{EntryRecord, EntrySource};
    /// let e = EntryRecord::new(EntryId(1), EntrySource::Known, "x");
    /// assert_eq!(KnownItem::from_entry(&e).id.as_deref(), Some("x"));
    /// ```
    pub fn from_entry(e: &EntryRecord) -> KnownItem {
        KnownItem {
            id: Some(e.external_id.clone()),
            label: e.label.clone(),
            hashes: e.hashes.clone(),
        }
    }
}

/// The layout of a hash list.
///
/// ```
/// use referral_dedup::hashlist::ListFormat;
/// assert_eq!("tsv".parse::<ListFormat>().unwrap(), ListFormat::Tsv);
/// assert_eq!(ListFormat::from_path("hashes.ndjson".as_ref()), Some(ListFormat::Jsonl));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListFormat {
    /// Comma-separated with a header row.
    Csv,
    /// Tab-separated with a header row.
    Tsv,
    /// One JSON object per line.
    Jsonl,
}

impl ListFormat {
    /// The format implied by a file extension (`.csv`, `.tsv`/`.tab`, `.jsonl`/`.ndjson`/`.json`).
    pub fn from_path(path: &Path) -> Option<ListFormat> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        match ext.as_str() {
            "csv" => Some(ListFormat::Csv),
            "tsv" | "tab" => Some(ListFormat::Tsv),
            "jsonl" | "ndjson" | "json" => Some(ListFormat::Jsonl),
            _ => None,
        }
    }

    /// Guesses the format from the start of the content: `{` means JSONL, a tab in the first
    /// line means TSV, anything else CSV.
    ///
    /// ```
    /// use referral_dedup::hashlist::ListFormat;
    /// assert_eq!(ListFormat::sniff(b"  {\"md5\":\"..\"}"), ListFormat::Jsonl);
    /// assert_eq!(ListFormat::sniff(b"id\tpdq\n"), ListFormat::Tsv);
    /// ```
    pub fn sniff(head: &[u8]) -> ListFormat {
        let head = head.strip_prefix(b"\xef\xbb\xbf").unwrap_or(head);
        match head.iter().find(|b| !b.is_ascii_whitespace()) {
            Some(b'{') => ListFormat::Jsonl,
            _ => {
                let first_line = head.split(|&b| b == b'\n').next().unwrap_or(&[]);
                if first_line.contains(&b'\t') {
                    ListFormat::Tsv
                } else {
                    ListFormat::Csv
                }
            }
        }
    }
}

impl FromStr for ListFormat {
    type Err = HashListError;
    fn from_str(s: &str) -> Result<Self, HashListError> {
        match s.to_ascii_lowercase().as_str() {
            "csv" => Ok(ListFormat::Csv),
            "tsv" => Ok(ListFormat::Tsv),
            "jsonl" | "ndjson" => Ok(ListFormat::Jsonl),
            other => Err(HashListError::UnknownFormat(other.to_string())),
        }
    }
}

/// A row that could not be read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RowError {
    /// One-based line number in the file (the header is line 1 for CSV/TSV).
    pub line: u64,
    /// What was wrong.
    pub reason: String,
}

impl std::fmt::Display for RowError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line {}: {}", self.line, self.reason)
    }
}

/// The readable items of a list, with the rows that were skipped.
#[derive(Debug, Clone, Default)]
pub struct ParsedList {
    /// Items in file order, each with the line it came from.
    pub items: Vec<(u64, KnownItem)>,
    /// Rows that were skipped, in file order.
    pub errors: Vec<RowError>,
    /// Header columns that are not hash-list columns (ignored).
    pub ignored_columns: Vec<String>,
}

/// Writes items as a list in `format` (CSV/TSV with the full header, or JSONL without absent
/// fields). The output reads back with [`read_list`] to the same items.
///
/// # Errors
/// [`HashListError::Io`] when writing fails.
///
/// ```
/// use referral_dedup::hashlist::{read_list, write_list, KnownItem, ListFormat};
/// use referral_dedup::hashes::HashBundle;
/// let hashes = HashBundle { pdq_quality: Some(80), pdq: Some("00".repeat(32).parse().unwrap()), ..HashBundle::default() };
/// let item = KnownItem { id: Some("a".into()), hashes, ..KnownItem::default() };
/// let mut out = Vec::new();
/// write_list(&mut out, ListFormat::Csv, [&item]).unwrap();
/// let back = read_list(&out[..], ListFormat::Csv, true).unwrap();
/// assert_eq!(back.items[0].1, item);
/// ```
pub fn write_list<'a, W: Write>(
    writer: W,
    format: ListFormat,
    items: impl IntoIterator<Item = &'a KnownItem>,
) -> Result<(), HashListError> {
    match format {
        ListFormat::Jsonl => {
            let mut w = std::io::BufWriter::new(writer);
            for item in items {
                serde_json::to_writer(&mut w, item).map_err(std::io::Error::other)?;
                w.write_all(b"\n")?;
            }
            w.flush()?;
            Ok(())
        }
        ListFormat::Csv | ListFormat::Tsv => {
            let delimiter = if format == ListFormat::Csv {
                b','
            } else {
                b'\t'
            };
            let mut w = csv::WriterBuilder::new()
                .delimiter(delimiter)
                .from_writer(writer);
            let io = |e: csv::Error| HashListError::Io(std::io::Error::other(e.to_string()));
            let columns = Column::written();
            w.write_record(columns.iter().map(|c| c.name()))
                .map_err(io)?;
            for item in items {
                w.write_record(columns.iter().map(|c| c.get(item).unwrap_or_default()))
                    .map_err(io)?;
            }
            w.flush()?;
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hashes::Hash64;

    const PDQ: &str = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22";
    const MD5: &str = "d41d8cd98f00b204e9800998ecf8427e";

    #[test]
    fn csv_columns_in_any_order_and_case() {
        let text = format!("Quality,PDQ,label,id,extra\n90,{PDQ},propaganda,p1,x\n");
        let list = read_list(text.as_bytes(), ListFormat::Csv, true).unwrap();
        assert_eq!(list.items.len(), 1);
        let item = &list.items[0].1;
        assert_eq!(item.hashes.pdq_quality, Some(90));
        assert_eq!(item.hashes.pdq.unwrap().to_string(), PDQ);
        assert_eq!(item.label.as_deref(), Some("propaganda"));
        assert_eq!(item.id.as_deref(), Some("p1"));
        assert_eq!(list.ignored_columns, vec!["extra".to_string()]);
    }

    #[test]
    fn bad_rows_reported_with_line_numbers() {
        let text = format!(
            "id\tmd5\tquality\n\
             a\t{MD5}\t\n\
             b\tnothex\t\n\
             \n\
             c\t{MD5}\t101\n\
             d\t\t\n\
             e\t{MD5}\n\
             f\t{MD5}\t7\n"
        );
        let list = read_list(text.as_bytes(), ListFormat::Tsv, false).unwrap();
        let ids: Vec<_> = list
            .items
            .iter()
            .map(|(l, i)| (*l, i.id.clone().unwrap()))
            .collect();
        assert_eq!(ids, vec![(2, "a".to_string()), (8, "f".to_string())]);
        let lines: Vec<u64> = list.errors.iter().map(|e| e.line).collect();
        assert_eq!(lines, vec![3, 5, 6, 7]);
        assert!(list.errors[0].reason.contains("md5"));
        assert!(list.errors[1].reason.contains("quality"));
        assert!(list.errors[2].reason.contains("no hash"));
        assert!(list.errors[3].reason.contains("cells"));

        let strict = read_list(text.as_bytes(), ListFormat::Tsv, true).unwrap_err();
        match strict {
            HashListError::List(e) => assert_eq!(e.line, 3),
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn header_without_hash_column_is_refused() {
        let err = read_list(&b"id,label\na,b\n"[..], ListFormat::Csv, false).unwrap_err();
        assert!(matches!(err, HashListError::List(RowError { line: 1, .. })));
        assert!(read_list(&b""[..], ListFormat::Csv, false).is_err());
    }

    #[test]
    fn jsonl_bad_lines_skipped() {
        let text = format!(
            "{{\"id\":\"a\",\"md5\":\"{MD5}\"}}\n\
             not json\n\
             {{\"id\":\"b\",\"pdq\":\"{PDQ}\",\"quality\":300}}\n\
             {{\"id\":\"c\",\"pdq\":\"{PDQ}\",\"quality\":30}}\n"
        );
        let list = read_list(text.as_bytes(), ListFormat::Jsonl, false).unwrap();
        assert_eq!(list.items.len(), 2);
        assert_eq!(
            list.errors.iter().map(|e| e.line).collect::<Vec<_>>(),
            vec![2, 3]
        );
    }

    /// A bundle with a value of every kind (and a quality).
    fn every_kind() -> HashBundle {
        let mut b = HashBundle::with_every_kind(77);
        b.dhash = Some(Hash64(0xdead_beef));
        b
    }

    #[test]
    fn round_trip_all_formats() {
        let items = vec![
            KnownItem {
                id: Some("with,comma \"quoted\"".into()),
                label: Some("tab\there".into()),
                hashes: every_kind(),
            },
            KnownItem {
                id: Some("only-md5".into()),
                hashes: HashBundle {
                    md5: Some(MD5.parse().unwrap()),
                    ..HashBundle::default()
                },
                ..KnownItem::default()
            },
        ];
        for format in [ListFormat::Csv, ListFormat::Tsv, ListFormat::Jsonl] {
            let mut out = Vec::new();
            write_list(&mut out, format, &items).unwrap();
            assert_eq!(ListFormat::sniff(&out), format, "{format:?}");
            let back = read_list(&out[..], format, true).unwrap();
            let back: Vec<KnownItem> = back.items.into_iter().map(|(_, i)| i).collect();
            assert_eq!(back, items, "{format:?}");
        }
    }

    #[test]
    fn hostile_input_does_not_panic() {
        for bytes in [
            &b"\xff\xfe\x00garbage"[..],
            b"pdq\n\"unterminated",
            b"{{{{",
            b"pdq,pdq\n,,,,\n",
        ] {
            for format in [ListFormat::Csv, ListFormat::Tsv, ListFormat::Jsonl] {
                let _ = read_list(bytes, format, false);
                let _ = read_list(bytes, format, true);
            }
        }
    }
}
