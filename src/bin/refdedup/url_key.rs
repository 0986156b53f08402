//! `refdedup url-key [FILE]`: one URL per input line in, one JSON object per line out.

use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, Read, Write};
use std::path::Path;

use rayon::prelude::*;
use referral_dedup::url::{Platform, Rule, UrlKeyer};
use serde::Serialize;

/// Lines handled per batch: large inputs are keyed in parallel a batch at a time, so memory
/// stays bounded and output order equals input order.
const BATCH_LINES: usize = 16_384;
/// Below this many lines in a batch, keying runs on the calling thread.
const PARALLEL_MIN: usize = 512;

#[derive(Serialize)]
struct KeyLine<'a> {
    input: &'a str,
    key: &'a str,
    canonical: &'a str,
    platform: Option<Platform>,
    rules: &'a [Rule],
}

#[derive(Serialize)]
struct ErrorLine<'a> {
    input: &'a str,
    error: String,
}

/// One output line (without the newline) for one input line.
fn render(keyer: &UrlKeyer, input: &str) -> String {
    let out = match keyer.key(input) {
        Ok(k) => serde_json::to_string(&KeyLine {
            input,
            key: &k.key,
            canonical: &k.canonical,
            platform: k.platform,
            rules: &k.rules,
        }),
        Err(e) => serde_json::to_string(&ErrorLine {
            input,
            error: e.to_string(),
        }),
    };
    // Serialising plain strings and enums cannot fail; fall back to an error line regardless.
    out.unwrap_or_else(|e| format!(r#"{{"input":null,"error":"{e}"}}"#))
}

/// Runs the command on `file` (stdin when `None`), writing to stdout.
pub fn run(file: Option<&Path>) -> io::Result<()> {
    let reader: Box<dyn Read> = match file {
        Some(p) => Box::new(
            File::open(p).map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", p.display())))?,
        ),
        None => Box::new(io::stdin().lock()),
    };
    let stdout = io::stdout().lock();
    key_lines(
        BufReader::with_capacity(1 << 16, reader),
        BufWriter::with_capacity(1 << 16, stdout),
    )
}

/// Keys every line of `input` into `output`.
pub fn key_lines(mut input: impl BufRead, mut output: impl Write) -> io::Result<()> {
    let keyer = UrlKeyer::new();
    let mut batch: Vec<String> = Vec::with_capacity(BATCH_LINES);
    let mut buf = Vec::new();
    loop {
        buf.clear();
        let n = input.read_until(b'\n', &mut buf)?;
        if n > 0 {
            let line = buf.strip_suffix(b"\n").unwrap_or(&buf);
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            batch.push(String::from_utf8_lossy(line).into_owned());
        }
        if batch.len() == BATCH_LINES || (n == 0 && !batch.is_empty()) {
            let rendered: Vec<String> = if batch.len() >= PARALLEL_MIN {
                batch.par_iter().map(|l| render(&keyer, l)).collect()
            } else {
                batch.iter().map(|l| render(&keyer, l)).collect()
            };
            for line in &rendered {
                output.write_all(line.as_bytes())?;
                output.write_all(b"\n")?;
            }
            batch.clear();
        }
        if n == 0 {
            break;
        }
    }
    output.flush()
}
