//! `refdedup match`: media files against known content.

use std::path::PathBuf;

use clap::Args;
use referral_dedup::engine::{Referral, VerdictKind};
use referral_dedup::store::EntrySource;
use serde_json::json;

use crate::{open_engine_read_only, print_json, CliError, DbArgs, RuleArgs};

#[derive(Debug, Args)]
pub(crate) struct MatchArgs {
    #[command(flatten)]
    db: DbArgs,
    #[command(flatten)]
    rule: RuleArgs,
    /// Media files or directories (walked recursively, as `hash` does).
    #[arg(required = true, value_name = "PATH")]
    paths: Vec<PathBuf>,
}

pub(crate) fn run(args: MatchArgs) -> Result<(), CliError> {
    let engine = open_engine_read_only(&args.db.db, args.rule.config()?)?;
    let mut files = Vec::new();
    let mut walk_errors = Vec::new();
    for p in &args.paths {
        crate::hash::collect_files(p, &mut files, &mut walk_errors);
    }
    let mut failed = walk_errors.len();
    for (path, e) in &walk_errors {
        eprintln!("refdedup: {}: {e}", path.display());
    }
    for path in &files {
        let referral = Referral::new(path.display().to_string()).with_media_path(path);
        let fp = match engine.fingerprint(&referral) {
            Ok(fp) => fp,
            Err(e) => {
                failed += 1;
                eprintln!("refdedup: {e}");
                continue;
            }
        };
        if let Some(e) = &fp.media_error {
            eprintln!("refdedup: {}: digests only: {e}", path.display());
        }
        let verdict = engine.check_fingerprint(fp);
        let matches: Vec<_> = verdict
            .evidence
            .iter()
            .filter(|m| m.source == EntrySource::Known)
            .map(|m| {
                let mut o = json!({"id": m.external_id, "kind": m.kind, "distance": m.distance});
                if let Some(l) = &m.label {
                    o["label"] = json!(l);
                }
                if let Some(q) = m.quality {
                    o["quality"] = json!(q);
                }
                if let Some(c) = &m.confirmed_by {
                    o["confirmed_by"] = json!(c);
                }
                if let Some(t) = m.tier {
                    o["tier"] = json!(t);
                }
                if let Some(v) = &m.video {
                    o["video"] = json!(v);
                }
                o
            })
            .collect();
        let kind = if verdict.kind == VerdictKind::Known {
            "known"
        } else {
            "new"
        };
        let media = verdict.fingerprint.media.as_ref();
        let mut line = json!({
            "path": path,
            "verdict": kind,
            "matches": matches,
            "pdq": media.and_then(|m| m.hashes.pdq),
            "quality": media.and_then(|m| m.hashes.pdq_quality),
        });
        if let Some(video) = &verdict.fingerprint.video {
            line["video"] = json!(video);
        }
        print_json(&line)?;
    }
    if failed > 0 {
        return Err(CliError::Partial(format!(
            "{failed} file(s) could not be read"
        )));
    }
    Ok(())
}
