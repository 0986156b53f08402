//! Why a command failed, and the one table from failures to exit statuses.

use std::io;
use std::path::PathBuf;

use referral_dedup::engine::EngineError;
use referral_dedup::store::StoreError;
use referral_dedup::url::RulesError;

/// Exit statuses, one table for every command (README "Exit status").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Exit {
    /// 0: success; also a command whose reader closed standard output early
    /// (`refdedup hash DIR | head -1`).
    Success = 0,
    /// 1: the command ran to the end but some inputs failed (unreadable files, skipped rows,
    /// items refused); each is reported on stderr.
    Partial = 1,
    /// 2: usage error (unknown flag, bad value, conflicting arguments); also clap's own status.
    Usage = 2,
    /// 3: input or output failed: a file or the database cannot be read or written, or the
    /// database is missing.
    Io = 3,
    /// 4: invalid or corrupt data: an input that cannot be used as a whole (a strict import's
    /// bad row), a database damaged where it cannot be worked around (a damaged snapshot, a
    /// missing file, an unknown format version), or `db check` found damage.
    Corrupt = 4,
    /// 5: the database is in use by another writer (retry, or pass `--wait`).
    Locked = 5,
}

/// A failure that ends a command; [`CliError::exit`] gives its status.
#[derive(Debug, thiserror::Error)]
pub(crate) enum CliError {
    /// Arguments that parse but cannot be used together (clap reports the others itself).
    #[error("{0}")]
    Usage(String),
    /// The command ran to the end, but some inputs failed (each already reported on stderr).
    #[error("{0}")]
    Partial(String),
    /// The library failed or refused while the command was doing `context`.
    #[error("{context}: {source}")]
    Library {
        /// What the command was doing, naming the file or database.
        context: String,
        /// The library's typed error.
        #[source]
        source: referral_dedup::Error,
    },
    /// An input file (or standard input) could not be opened or read.
    #[error("{}: {source}", path.display())]
    Input {
        /// The file, or `standard input`.
        path: PathBuf,
        /// What went wrong.
        #[source]
        source: io::Error,
    },
    /// A URL host-rules file (`url-key --rules`, `--url-rules`) is refused: its line and reason.
    #[error("{}", rules_message(path, source))]
    Rules {
        /// The rules file.
        path: PathBuf,
        /// The line and reason.
        #[source]
        source: RulesError,
    },
    /// Writing the results failed (standard output or `--out`).
    #[error("writing {to}: {source}")]
    Output {
        /// `standard output`, or the `--out` file.
        to: String,
        /// What went wrong; a broken pipe means the reader has gone.
        #[source]
        source: io::Error,
    },
    /// `db check` found damage (each problem already reported on stderr).
    #[error(
        "database {} has {problems} problem(s); every record whose own checksum holds is still \
         read. `refdedup db repair --db {}` sets the damage aside",
        db.display(),
        db.display()
    )]
    Damaged {
        /// The database directory.
        db: PathBuf,
        /// How many damaged or unfinished stretches were found.
        problems: usize,
    },
}

/// `--rules FILE, line N: reason`, or without the line when the problem concerns the whole
/// file (it cannot be read).
fn rules_message(path: &std::path::Path, e: &RulesError) -> String {
    match e.line {
        0 => format!("--rules/--url-rules {}: {}", path.display(), e.reason),
        line => format!(
            "--rules/--url-rules {}, line {line}: {}",
            path.display(),
            e.reason
        ),
    }
}

impl CliError {
    /// A library error with what the command was doing.
    pub fn lib(context: impl std::fmt::Display, source: impl Into<referral_dedup::Error>) -> Self {
        CliError::Library {
            context: context.to_string(),
            source: source.into(),
        }
    }

    /// A failed write to standard output.
    pub fn stdout(source: io::Error) -> Self {
        CliError::Output {
            to: "standard output".into(),
            source,
        }
    }

    /// The exit status of this failure: the one mapping from errors to the README's table.
    /// A closed standard output (broken pipe) ends any command quietly with success: whoever
    /// read the output took what it wanted.
    pub fn exit(&self) -> Exit {
        match self {
            CliError::Usage(_) => Exit::Usage,
            CliError::Partial(_) => Exit::Partial,
            CliError::Library { source, .. } => library_exit(source),
            CliError::Input { .. } => Exit::Io,
            // Invalid data, named by file and line (an unreadable file is `Input`).
            CliError::Rules { .. } => Exit::Corrupt,
            CliError::Output { source, .. } if source.kind() == io::ErrorKind::BrokenPipe => {
                Exit::Success
            }
            CliError::Output { .. } => Exit::Io,
            CliError::Damaged { .. } => Exit::Corrupt,
        }
    }
}

/// The status of a library error, by what went wrong (part of [`CliError::exit`]).
fn library_exit(e: &referral_dedup::Error) -> Exit {
    match e {
        referral_dedup::Error::Store(s) => match s {
            StoreError::Locked { .. } => Exit::Locked,
            StoreError::Corruption(_)
            | StoreError::UnsupportedVersion { .. }
            | StoreError::NewerFeature { .. }
            | StoreError::MissingFile { .. }
            | StoreError::MissingManifest { .. } => Exit::Corrupt,
            _ => Exit::Io,
        },
        referral_dedup::Error::Engine(EngineError::Config(_)) => Exit::Usage,
        referral_dedup::Error::Engine(EngineError::List(_)) => Exit::Corrupt,
        _ => Exit::Io,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_failure_has_its_documented_status() {
        let io = |kind| io::Error::new(kind, "x");
        let cases = [
            (CliError::Usage("u".into()), Exit::Usage),
            (CliError::Partial("p".into()), Exit::Partial),
            (
                CliError::lib("c", EngineError::Config("bad".into())),
                Exit::Usage,
            ),
            (
                CliError::lib(
                    "c",
                    StoreError::Locked {
                        dir: "db".into(),
                        holder: String::new(),
                    },
                ),
                Exit::Locked,
            ),
            (CliError::lib("c", EngineError::Full), Exit::Io),
            (
                CliError::Input {
                    path: "f".into(),
                    source: io(io::ErrorKind::NotFound),
                },
                Exit::Io,
            ),
            (
                CliError::stdout(io(io::ErrorKind::BrokenPipe)),
                Exit::Success,
            ),
            (CliError::stdout(io(io::ErrorKind::StorageFull)), Exit::Io),
            (
                CliError::Damaged {
                    db: "db".into(),
                    problems: 2,
                },
                Exit::Corrupt,
            ),
        ];
        for (error, exit) in cases {
            assert_eq!(error.exit(), exit, "{error}");
        }
    }
}
