//! vPDQ: one PDQ hash per sampled video frame, its two exchange forms, and the reference's
//! bag-of-frames comparison.
//!
//! The two forms are Meta's reference CLI's lines (`frameNumber,quality,pdqhex,timestamp`, the
//! timestamp with three decimals) and python-threatexchange's JSON list of `"pdqhex,quality,
//! timestamp"` strings (the timestamp with three significant digits, so `1.23e+02` occurs). Both
//! are read strictly: every malformed line is an error naming the line, never a guess.
//!
//! ```
//! use referral_dedup::video::VideoHash;
//! # fn main() -> Result<(), referral_dedup::video::VideoError> {
//! let text = "0,100,e271017837246aaccddea259648fb7d62f435c89d9e99b2497763e216c8d055c,0.000\n";
//! let hash = VideoHash::parse_reference(text)?;
//! assert_eq!(hash.frames.len(), 1);
//! assert_eq!(hash.to_reference(), text);
//! assert_eq!(hash.to_json(), r#"["e271017837246aaccddea259648fb7d62f435c89d9e99b2497763e216c8d055c,100,0.0"]"#);
//! # Ok(()) }
//! ```

use std::collections::HashSet;
use std::fmt::Write as _;

use crate::hashes::Pdq;

use super::VideoError;

/// The PDQ hash of one video frame, with where it sits in the video.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct FrameHash {
    /// Index of the frame among the decoded frames (0-based), as the reference numbers them.
    pub frame_number: u64,
    /// PDQ quality, 0..=100.
    pub quality: u8,
    /// The frame's PDQ hash.
    pub pdq: Pdq,
    /// Seconds from the start: frame index / average frame rate.
    pub timestamp: f64,
}

/// A video's vPDQ hash: its sampled frames in decoding order.
///
/// ```
/// use referral_dedup::video::VideoHash;
/// let v = VideoHash { frames: vec![] };
/// assert_eq!(v.duration(), 0.0);
/// ```
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct VideoHash {
    /// The sampled frames, in decoding order.
    pub frames: Vec<FrameHash>,
}

impl VideoHash {
    /// Reads the reference CLI's form: one `frameNumber,quality,pdqhex,timestamp` line per frame.
    /// Blank lines are skipped; a leading byte-order mark is ignored.
    ///
    /// # Errors
    /// [`VideoError::Format`] naming the line for a wrong field count, a bad number, a quality
    /// over 100, a bad hex hash or a negative or non-finite timestamp.
    ///
    /// ```
    /// use referral_dedup::video::VideoHash;
    /// assert!(VideoHash::parse_reference("0,100,abc,0.000\n").is_err());
    /// ```
    pub fn parse_reference(text: &str) -> Result<VideoHash, VideoError> {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let mut frames = Vec::new();
        for (i, line) in text.lines().enumerate() {
            let line = line.trim_end_matches('\r');
            if line.trim().is_empty() {
                continue;
            }
            let bad = |reason: String| VideoError::Format {
                line: i + 1,
                reason,
            };
            let fields: Vec<&str> = line.split(',').collect();
            let [number, quality, hex, timestamp] = fields[..] else {
                return Err(bad(format!(
                    "expected 4 comma-separated fields, found {}",
                    fields.len()
                )));
            };
            let frame_number = number
                .trim()
                .parse::<u64>()
                .map_err(|e| bad(format!("frame number {number:?}: {e}")))?;
            frames.push(parse_frame(frame_number, quality, hex, timestamp).map_err(bad)?);
        }
        Ok(VideoHash { frames })
    }

    /// Writes the reference CLI's form (`frameNumber,quality,pdqhex,timestamp`, three decimals).
    ///
    /// ```
    /// use referral_dedup::video::{FrameHash, VideoHash};
    /// let f = FrameHash { frame_number: 7, quality: 90, pdq: Default::default(), timestamp: 0.2333 };
    /// let text = VideoHash { frames: vec![f] }.to_reference();
    /// assert!(text.starts_with("7,90,0000") && text.ends_with(",0.233\n"));
    /// ```
    pub fn to_reference(&self) -> String {
        let mut out = String::with_capacity(self.frames.len() * 80);
        for f in &self.frames {
            let _ = writeln!(
                out,
                "{},{},{},{:.3}",
                f.frame_number, f.quality, f.pdq, f.timestamp
            );
        }
        out
    }

    /// Reads python-threatexchange's form: a JSON list of `"pdqhex,quality,timestamp"` strings.
    /// Frame numbers, which that form does not carry, are the positions in the list.
    ///
    /// # Errors
    /// [`VideoError::Format`] for JSON that is not a list of strings (line 0) or an entry that does
    /// not parse (its 1-based position as the line).
    ///
    /// ```
    /// use referral_dedup::video::VideoHash;
    /// # fn main() -> Result<(), referral_dedup::video::VideoError> {
    /// let h = "0".repeat(64);
    /// let v = VideoHash::parse_json(&format!(r#"["{h},80,1.23e+02"]"#))?;
    /// assert_eq!(v.frames[0].timestamp, 123.0);
    /// # Ok(()) }
    /// ```
    pub fn parse_json(text: &str) -> Result<VideoHash, VideoError> {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let entries: Vec<String> = serde_json::from_str(text).map_err(|e| VideoError::Format {
            line: 0,
            reason: format!("expected a JSON list of \"pdqhex,quality,timestamp\" strings: {e}"),
        })?;
        let mut frames = Vec::with_capacity(entries.len());
        for (i, entry) in entries.iter().enumerate() {
            let bad = |reason: String| VideoError::Format {
                line: i + 1,
                reason,
            };
            let fields: Vec<&str> = entry.split(',').collect();
            let [hex, quality, timestamp] = fields[..] else {
                return Err(bad(format!(
                    "expected 3 comma-separated fields, found {}",
                    fields.len()
                )));
            };
            frames.push(parse_frame(i as u64, quality, hex, timestamp).map_err(bad)?);
        }
        Ok(VideoHash { frames })
    }

    /// Writes python-threatexchange's form, timestamps with three significant digits as Python's
    /// `format(t, ".3")` prints them.
    ///
    /// ```
    /// use referral_dedup::video::{FrameHash, VideoHash};
    /// let f = FrameHash { frame_number: 0, quality: 50, pdq: Default::default(), timestamp: 123.4 };
    /// assert!(VideoHash { frames: vec![f] }.to_json().ends_with(",50,1.23e+02\"]"));
    /// ```
    pub fn to_json(&self) -> String {
        let entries: Vec<String> = self
            .frames
            .iter()
            .map(|f| {
                format!(
                    "{},{},{}",
                    f.pdq,
                    f.quality,
                    python_3_significant(f.timestamp)
                )
            })
            .collect();
        serde_json::to_string(&entries).expect("a list of strings always serialises")
    }

    /// Seconds spanned by the frames (last timestamp; 0 for no frames).
    pub fn duration(&self) -> f64 {
        self.frames.last().map_or(0.0, |f| f.timestamp)
    }
}

/// One frame from its text fields (shared by both exchange forms).
fn parse_frame(
    frame_number: u64,
    quality: &str,
    hex: &str,
    timestamp: &str,
) -> Result<FrameHash, String> {
    Ok(FrameHash {
        frame_number,
        quality: parse_quality(quality)?,
        pdq: hex
            .trim()
            .parse()
            .map_err(|e| format!("pdq hash {hex:?}: {e}"))?,
        timestamp: parse_timestamp(timestamp)?,
    })
}

fn parse_quality(field: &str) -> Result<u8, String> {
    match field.trim().parse::<u8>() {
        Ok(q) if q <= 100 => Ok(q),
        Ok(q) => Err(format!("quality {q} is over 100")),
        Err(e) => Err(format!("quality {field:?}: {e}")),
    }
}

fn parse_timestamp(field: &str) -> Result<f64, String> {
    match field.trim().parse::<f64>() {
        Ok(t) if t.is_finite() && t >= 0.0 => Ok(t),
        Ok(t) => Err(format!("timestamp {t} is negative or not finite")),
        Err(e) => Err(format!("timestamp {field:?}: {e}")),
    }
}

/// Python's `format(x, ".3")`: three significant digits, fixed notation for exponents -4..=1
/// with at least one digit after the point, otherwise `d.dde±XX` with trailing zeros removed.
fn python_3_significant(x: f64) -> String {
    if x == 0.0 {
        return "0.0".to_owned();
    }
    // Rust's `{:.2e}` rounds to three significant digits and gives the exponent after rounding.
    let sci = format!("{x:.2e}");
    let (mantissa, exp) = sci
        .split_once('e')
        .expect("scientific format has an exponent");
    let exp: i32 = exp.parse().expect("exponent is an integer");
    if (-4..2).contains(&exp) {
        let decimals = (2 - exp).max(1) as usize;
        let mut s = format!("{x:.decimals$}");
        while s.ends_with('0') && !s.ends_with(".0") {
            s.pop();
        }
        s
    } else {
        let mantissa = mantissa.trim_end_matches('0').trim_end_matches('.');
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{mantissa}e{sign}{:02}", exp.abs())
    }
}

/// Which distance comparison a vPDQ rule uses: the C++ matcher counts a frame as matched below
/// the threshold, python-threatexchange at or below it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum DistanceConvention {
    /// `distance < threshold` (the reference C++ `matchTwoHash`).
    Strict,
    /// `distance <= threshold` (python-threatexchange).
    Inclusive,
}

/// The vPDQ bag-of-frames rule: unique frame hashes on each side, frames under the quality floor
/// dropped, a frame matched when the other side has a frame within the distance; the video
/// matches when both percentages reach their thresholds.
///
/// ```
/// use referral_dedup::video::VpdqRule;
/// let r = VpdqRule::default();
/// assert_eq!((r.distance, r.quality_floor, r.query_percent, r.compared_percent), (31, 50, 80.0, 0.0));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct VpdqRule {
    /// Hamming distance threshold (31).
    pub distance: u32,
    /// Whether the threshold itself counts as a match.
    pub convention: DistanceConvention,
    /// Frames below this PDQ quality are ignored on both sides (50).
    pub quality_floor: u8,
    /// Percentage of the query's frames that must be matched (python-threatexchange: 80).
    pub query_percent: f64,
    /// Percentage of the compared video's frames that must be matched (python-threatexchange: 0).
    pub compared_percent: f64,
}

impl Default for VpdqRule {
    /// python-threatexchange's defaults: distance <= 31, quality >= 50, query 80%, compared 0%.
    fn default() -> Self {
        VpdqRule {
            distance: 31,
            convention: DistanceConvention::Inclusive,
            quality_floor: 50,
            query_percent: 80.0,
            compared_percent: 0.0,
        }
    }
}

/// The two percentages a vPDQ comparison yields.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct VpdqScore {
    /// Percentage of the query's unique usable frames matched by the compared video.
    pub query_matched_percent: f64,
    /// Percentage of the compared video's unique usable frames matched by the query.
    pub compared_matched_percent: f64,
}

impl VpdqRule {
    /// Both percentages for `query` against `compared`.
    ///
    /// A side with no usable frame (all under the quality floor) scores 0%.
    ///
    /// ```
    /// use referral_dedup::video::{FrameHash, VideoHash, VpdqRule};
    /// let f = |bits: u64| FrameHash { frame_number: 0, quality: 90,
    ///     pdq: referral_dedup::hashes::Pdq([bits, 0, 0, 0]), timestamp: 0.0 };
    /// let a = VideoHash { frames: vec![f(0), f(u64::MAX)] };
    /// let b = VideoHash { frames: vec![f(1)] };
    /// let s = VpdqRule::default().score(&a, &b);
    /// assert_eq!((s.query_matched_percent, s.compared_matched_percent), (50.0, 100.0));
    /// ```
    pub fn score(&self, query: &VideoHash, compared: &VideoHash) -> VpdqScore {
        let q = self.usable_unique(query);
        let c = self.usable_unique(compared);
        let matched = |from: &[Pdq], to: &[Pdq]| -> f64 {
            if from.is_empty() {
                return 0.0;
            }
            let n = from
                .iter()
                .filter(|a| to.iter().any(|b| self.within(a.distance(b))))
                .count();
            n as f64 * 100.0 / from.len() as f64
        };
        VpdqScore {
            query_matched_percent: matched(&q, &c),
            compared_matched_percent: matched(&c, &q),
        }
    }

    /// Whether `query` matches `compared` under this rule (both percentages reached, and at least
    /// one frame matched).
    pub fn matches(&self, query: &VideoHash, compared: &VideoHash) -> bool {
        let s = self.score(query, compared);
        s.query_matched_percent > 0.0
            && s.query_matched_percent >= self.query_percent
            && s.compared_matched_percent >= self.compared_percent
    }

    /// Whether a frame distance counts as matched under this rule's convention.
    pub fn within(&self, distance: u32) -> bool {
        match self.convention {
            DistanceConvention::Strict => distance < self.distance,
            DistanceConvention::Inclusive => distance <= self.distance,
        }
    }

    fn usable_unique(&self, video: &VideoHash) -> Vec<Pdq> {
        let mut seen = HashSet::new();
        video
            .frames
            .iter()
            .filter(|f| f.quality >= self.quality_floor)
            .filter(|f| seen.insert(f.pdq))
            .map(|f| f.pdq)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_formatting_matches_python() {
        // Values printed by CPython 3.11's format(x, ".3").
        for (x, want) in [
            (0.0, "0.0"),
            (0.033, "0.033"),
            (1.5, "1.5"),
            (5.0, "5.0"),
            (10.0, "10.0"),
            (100.0, "1e+02"),
            (123.4, "1.23e+02"),
            (0.0001, "0.0001"),
            (0.00001234, "1.23e-05"),
            (99.95, "1e+02"),
            (999.5, "1e+03"),
            (12.345, "12.3"),
        ] {
            assert_eq!(python_3_significant(x), want, "{x}");
        }
    }

    #[test]
    fn malformed_lines_are_errors_with_their_line() {
        let good = format!("0,100,{},0.000\n", "0".repeat(64));
        for (bad, line) in [
            (format!("{good}1,100,{},0.1,9\n", "0".repeat(64)), 2),
            (format!("{good}x,100,{},0.1\n", "0".repeat(64)), 2),
            (format!("1,101,{},0.1\n", "0".repeat(64)), 1),
            (format!("1,100,{},-1\n", "0".repeat(64)), 1),
            (format!("1,100,{},NaN\n", "0".repeat(64)), 1),
            ("1,100,zz,0.1\n".to_owned(), 1),
        ] {
            match VideoHash::parse_reference(&bad) {
                Err(VideoError::Format { line: l, .. }) => assert_eq!(l, line, "{bad}"),
                other => panic!("{bad}: {other:?}"),
            }
        }
        assert!(VideoHash::parse_json("{}").is_err());
        assert!(VideoHash::parse_json(r#"["abc,1,2"]"#).is_err());
    }

    #[test]
    fn both_forms_round_trip() {
        let frames = (0..40)
            .map(|i| FrameHash {
                frame_number: i,
                quality: (i * 3 % 101) as u8,
                pdq: Pdq([i.wrapping_mul(0x9e37_79b9_7f4a_7c15), !i, i << 7, 3]),
                timestamp: i as f64 / 29.97,
            })
            .collect();
        let v = VideoHash { frames };
        let back = VideoHash::parse_reference(&v.to_reference()).unwrap();
        assert_eq!(back.frames.len(), 40);
        for (a, b) in v.frames.iter().zip(&back.frames) {
            assert_eq!(
                (a.frame_number, a.quality, a.pdq),
                (b.frame_number, b.quality, b.pdq)
            );
            assert!((a.timestamp - b.timestamp).abs() <= 0.0005);
        }
        let back = VideoHash::parse_json(&v.to_json()).unwrap();
        for (a, b) in v.frames.iter().zip(&back.frames) {
            assert_eq!((a.quality, a.pdq), (b.quality, b.pdq));
            assert!((a.timestamp - b.timestamp).abs() <= a.timestamp * 0.005 + 1e-9);
        }
    }

    #[test]
    fn conventions_differ_exactly_at_the_threshold() {
        let strict = VpdqRule {
            convention: DistanceConvention::Strict,
            ..VpdqRule::default()
        };
        assert!(VpdqRule::default().within(31) && !strict.within(31) && strict.within(30));
    }
}
