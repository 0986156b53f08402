//! Reading hash lists: the CSV/TSV column mapping and the JSONL layout, row by row.

use super::{Column, HashListError, KnownItem, ListFormat, ParsedList, RowError};
use std::io::{BufRead, BufReader, Read};

fn row_from_cells(columns: &[Column], cells: &csv::StringRecord) -> Result<KnownItem, String> {
    if cells.len() != columns.len() {
        return Err(format!(
            "expected {} cells, found {}",
            columns.len(),
            cells.len()
        ));
    }
    let mut item = KnownItem::default();
    for (column, cell) in columns.iter().zip(cells.iter()) {
        let cell = cell.trim();
        if cell.is_empty() {
            continue;
        }
        column.set(&mut item, cell)?;
    }
    if !item.has_hash() {
        return Err("row has no hash".to_string());
    }
    Ok(item)
}

/// Reads a whole hash list.
///
/// Bad rows go to [`ParsedList::errors`] and are skipped; with `strict`, the first bad row is
/// returned as [`HashListError::List`] instead (so the caller imports nothing from the file).
///
/// # Errors
/// [`HashListError::Io`] when reading fails, [`HashListError::List`] when the file has no usable
/// header (no hash column) or, in strict mode, at the first bad row.
///
/// ```
/// use referral_dedup::hashlist::{read_list, ListFormat};
/// let text = "{\"id\":\"a\",\"md5\":\"d41d8cd98f00b204e9800998ecf8427e\"}\n{\"id\":\"b\"}\n";
/// assert!(read_list(text.as_bytes(), ListFormat::Jsonl, true).is_err());
/// assert_eq!(read_list(text.as_bytes(), ListFormat::Jsonl, false).unwrap().items.len(), 1);
/// ```
pub fn read_list<R: Read>(
    reader: R,
    format: ListFormat,
    strict: bool,
) -> Result<ParsedList, HashListError> {
    match format {
        ListFormat::Csv => read_delimited(reader, b',', strict),
        ListFormat::Tsv => read_delimited(reader, b'\t', strict),
        ListFormat::Jsonl => read_jsonl(reader, strict),
    }
}

/// Maps csv byte offsets to 1-based line numbers. The csv reader reports a record's position
/// as where its scan started, which is before any blank or comment lines it skipped, so the
/// offset is first moved past those.
struct LineMap<'a> {
    bytes: &'a [u8],
    /// Byte offset and line number of the last lookup (lookups are monotone).
    at: usize,
    line: u64,
}

impl LineMap<'_> {
    fn line_of(&mut self, offset: u64) -> u64 {
        let mut b = (offset as usize).min(self.bytes.len());
        // Skip blank and comment lines the csv reader passed over.
        loop {
            let rest = &self.bytes[b..];
            let end = rest.iter().position(|&c| c == b'\n');
            let line = &rest[..end.unwrap_or(rest.len())];
            let blank = line.iter().all(|c| c.is_ascii_whitespace());
            match end {
                Some(e) if blank || line.first() == Some(&b'#') => b += e + 1,
                _ => break,
            }
        }
        if b < self.at {
            self.at = 0;
            self.line = 1;
        }
        self.line += self.bytes[self.at..b]
            .iter()
            .filter(|&&c| c == b'\n')
            .count() as u64;
        self.at = b;
        self.line
    }
}

/// Largest CSV/TSV list read (lists are read whole to number their lines exactly).
const MAX_LIST_BYTES: u64 = 4 << 30;

fn read_delimited<R: Read>(
    mut reader: R,
    delimiter: u8,
    strict: bool,
) -> Result<ParsedList, HashListError> {
    let mut bytes = Vec::new();
    (&mut reader)
        .take(MAX_LIST_BYTES + 1)
        .read_to_end(&mut bytes)?;
    if bytes.len() as u64 > MAX_LIST_BYTES {
        return Err(HashListError::List(RowError {
            line: 0,
            reason: format!("list larger than {MAX_LIST_BYTES} bytes"),
        }));
    }
    // A leading byte-order mark is not part of the first column's name.
    if bytes.starts_with(b"\xef\xbb\xbf") {
        bytes.drain(..3);
    }
    let mut lines = LineMap {
        bytes: &bytes,
        at: 0,
        line: 1,
    };
    let mut rdr = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .has_headers(false)
        .flexible(true)
        .trim(csv::Trim::All)
        .comment(Some(b'#'))
        .from_reader(&bytes[..]);
    let mut out = ParsedList::default();
    let mut columns: Option<Vec<Column>> = None;
    let mut record = csv::StringRecord::new();
    loop {
        let offset = rdr.position().byte();
        let more = match rdr.read_record(&mut record) {
            Ok(more) => more,
            Err(e) => {
                let line = lines.line_of(e.position().map_or(offset, |p| p.byte()));
                let err = RowError {
                    line,
                    reason: e.to_string(),
                };
                if strict || columns.is_none() {
                    return Err(HashListError::List(err));
                }
                out.errors.push(err);
                continue;
            }
        };
        if !more {
            break;
        }
        let line = lines.line_of(record.position().map_or(offset, |p| p.byte()));
        if record.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        let Some(cols) = &columns else {
            let cols: Vec<Column> = record.iter().map(Column::from_header).collect();
            if !cols.iter().any(|c| c.is_hash()) {
                return Err(HashListError::List(RowError {
                    line,
                    reason: format!("header names no hash column ({})", Column::hash_names()),
                }));
            }
            out.ignored_columns = record
                .iter()
                .zip(&cols)
                .filter(|(_, c)| **c == Column::Ignored)
                .map(|(name, _)| name.to_string())
                .collect();
            columns = Some(cols);
            continue;
        };
        match row_from_cells(cols, &record) {
            Ok(item) => out.items.push((line, item)),
            Err(reason) => {
                let err = RowError { line, reason };
                if strict {
                    return Err(HashListError::List(err));
                }
                out.errors.push(err);
            }
        }
    }
    if columns.is_none() {
        return Err(HashListError::List(RowError {
            line: 1,
            reason: "empty list: no header row".to_string(),
        }));
    }
    Ok(out)
}

/// Rows are capped so a hostile file without newlines cannot exhaust memory.
const MAX_JSONL_LINE: u64 = 1 << 20;

fn read_jsonl<R: Read>(reader: R, strict: bool) -> Result<ParsedList, HashListError> {
    let mut reader = BufReader::new(reader);
    let mut out = ParsedList::default();
    let mut buf = Vec::new();
    let mut line_no = 0u64;
    loop {
        buf.clear();
        let n = (&mut reader)
            .take(MAX_JSONL_LINE + 1)
            .read_until(b'\n', &mut buf)?;
        if n == 0 {
            break;
        }
        line_no += 1;
        let result = if buf.len() as u64 > MAX_JSONL_LINE && !buf.ends_with(b"\n") {
            // Skip the rest of the over-long line.
            loop {
                let mut rest = Vec::new();
                let m = (&mut reader)
                    .take(MAX_JSONL_LINE)
                    .read_until(b'\n', &mut rest)?;
                if m == 0 || rest.ends_with(b"\n") {
                    break;
                }
            }
            Err(format!("line longer than {MAX_JSONL_LINE} bytes"))
        } else {
            let text = String::from_utf8_lossy(&buf);
            let text = text.trim().trim_start_matches('\u{feff}');
            if text.is_empty() || text.starts_with('#') {
                continue;
            }
            match serde_json::from_str::<KnownItem>(text) {
                Ok(item) if item.has_hash() => Ok(item),
                Ok(_) => Err("row has no hash".to_string()),
                Err(e) => Err(e.to_string()),
            }
        };
        match result {
            Ok(item) => out.items.push((line_no, item)),
            Err(reason) => {
                let err = RowError {
                    line: line_no,
                    reason,
                };
                if strict {
                    return Err(HashListError::List(err));
                }
                out.errors.push(err);
            }
        }
    }
    Ok(out)
}
