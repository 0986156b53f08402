//! The columns of a hash list (and the keys of a JSONL row): the item's id and label, the PDQ
//! quality, and one column per hash kind a [`HashBundle`](crate::hashes::HashBundle) holds,
//! named as in the kind table. A new hash kind is a new column with no edit here.

use crate::hashes::HashKind;

use super::KnownItem;

/// One column of a list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Column {
    /// The list's own id of the item.
    Id,
    /// Free-text label.
    Label,
    /// PDQ quality (0..=100).
    Quality,
    /// A hash of this kind, as hex.
    Hash(HashKind),
    /// A column this crate does not read.
    Ignored,
}

/// The hash columns in the order lists have always been written; kinds added later follow
/// in kind-table order.
const FIRST_HASHES: [HashKind; 6] = [
    HashKind::Pdq,
    HashKind::Md5,
    HashKind::Sha256,
    HashKind::Blake3,
    HashKind::Dhash,
    HashKind::Phash,
];

impl Column {
    /// The column a header cell (or JSONL key) names: case-insensitive, spaces and a
    /// byte-order mark ignored.
    pub(super) fn from_header(name: &str) -> Column {
        let name = name
            .trim()
            .trim_start_matches('\u{feff}')
            .to_ascii_lowercase();
        match name.as_str() {
            "id" => Column::Id,
            "label" => Column::Label,
            "quality" => Column::Quality,
            other => HashKind::in_bundle()
                .find(|k| k.as_str() == other)
                .map_or(Column::Ignored, Column::Hash),
        }
    }

    /// True for a hash column.
    pub(super) fn is_hash(self) -> bool {
        matches!(self, Column::Hash(_))
    }

    /// The column's name in headers and JSONL keys.
    pub(super) fn name(self) -> &'static str {
        match self {
            Column::Id => "id",
            Column::Label => "label",
            Column::Quality => "quality",
            Column::Hash(kind) => kind.as_str(),
            Column::Ignored => "",
        }
    }

    /// Every column a list is written with, in order: id, label, pdq, quality, the other
    /// hashes.
    pub(super) fn written() -> Vec<Column> {
        let mut out = vec![Column::Id, Column::Label];
        for kind in FIRST_HASHES {
            out.push(Column::Hash(kind));
            if kind == HashKind::Pdq {
                out.push(Column::Quality);
            }
        }
        out.extend(
            HashKind::in_bundle()
                .filter(|k| !FIRST_HASHES.contains(k))
                .map(Column::Hash),
        );
        out
    }

    /// The names of the hash columns, for messages: `pdq, md5, ...`.
    pub(super) fn hash_names() -> String {
        Column::written()
            .into_iter()
            .filter(|c| c.is_hash())
            .map(Column::name)
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// The item's value in this column, as text.
    pub(super) fn get(self, item: &KnownItem) -> Option<String> {
        match self {
            Column::Id => item.id.clone(),
            Column::Label => item.label.clone(),
            Column::Quality => item.hashes.pdq_quality.map(|q| q.to_string()),
            Column::Hash(kind) => item.hashes.text(kind),
            Column::Ignored => None,
        }
    }

    /// Sets the item's value in this column from a non-empty cell.
    pub(super) fn set(self, item: &mut KnownItem, cell: &str) -> Result<(), String> {
        match self {
            Column::Id => item.id = Some(cell.to_string()),
            Column::Label => item.label = Some(cell.to_string()),
            Column::Quality => item.hashes.pdq_quality = Some(parse_quality(cell)?),
            Column::Hash(kind) => item
                .hashes
                .set_text(kind, cell)
                .map_err(|e| format!("{kind}: {e}"))?,
            Column::Ignored => {}
        }
        Ok(())
    }
}

fn parse_quality(value: &str) -> Result<u8, String> {
    match value.trim().parse::<u8>() {
        Ok(q) if q <= 100 => Ok(q),
        _ => Err(format!(
            "quality: expected an integer 0..=100, found {:?}",
            value.trim()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_written_columns_are_the_historic_header_then_new_kinds() {
        let names: Vec<&str> = Column::written().into_iter().map(Column::name).collect();
        assert_eq!(
            names[..9],
            ["id", "label", "pdq", "quality", "md5", "sha256", "blake3", "dhash", "phash"]
        );
        for kind in HashKind::in_bundle() {
            assert!(names.contains(&kind.as_str()), "{kind}");
            assert_eq!(Column::from_header(kind.as_str()), Column::Hash(kind));
        }
        assert_eq!(Column::from_header(" URL_KEY "), Column::Ignored);
        assert_eq!(Column::from_header("\u{feff}Quality"), Column::Quality);
    }
}
