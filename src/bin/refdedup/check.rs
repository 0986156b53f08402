//! `refdedup check`: one referral, one verdict.

use std::path::PathBuf;

use clap::Args;
use referral_dedup::engine::Referral;

use crate::{open_engine, open_engine_read_only, print_json, CliError, DbArgs, RuleArgs};

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("input").required(true).multiple(true).args(["url", "media"])))]
pub(crate) struct CheckArgs {
    #[command(flatten)]
    db: DbArgs,
    #[command(flatten)]
    rule: RuleArgs,
    /// The referred URL.
    #[arg(long)]
    url: Option<String>,
    /// The referred media file.
    #[arg(long, value_name = "PATH")]
    media: Option<PathBuf>,
    /// Referral id to record it under (default: generated from the time).
    #[arg(long)]
    id: Option<String>,
    /// When the referral was received (kept as given).
    #[arg(long)]
    received_at: Option<String>,
    /// Check only: do not record the referral.
    #[arg(long)]
    dry_run: bool,
}

/// What a failed check was about: the media file, else the URL, and the database.
fn referral_context(args: &CheckArgs) -> String {
    let what = match (&args.media, &args.url) {
        (Some(m), _) => format!("--media {}", m.display()),
        (None, Some(u)) => format!("--url {u}"),
        (None, None) => "the referral".into(),
    };
    format!("checking {what} against database {}", args.db.db.display())
}

pub(crate) fn run(args: CheckArgs) -> Result<(), CliError> {
    // A dry run only reads: it never creates or changes the database.
    let engine = if args.dry_run {
        open_engine_read_only(&args.db.db, args.rule.config()?)?
    } else {
        open_engine(&args.db, args.rule.config()?, true)?
    };
    let id = args.id.clone().unwrap_or_else(|| {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        format!("cli-{}.{:09}", now.as_secs(), now.subsec_nanos())
    });
    let mut referral = Referral::new(id);
    referral.url = args.url.clone();
    referral.received_at = args.received_at.clone();
    if let Some(m) = &args.media {
        referral = referral.with_media_path(m);
    }
    let verdict = if args.dry_run {
        engine.check(&referral)
    } else {
        engine.check_and_record(&referral).and_then(|v| {
            engine.sync()?;
            Ok(v)
        })
    }
    .map_err(|e| CliError::lib(referral_context(&args), e))?;
    if let Some(e) = &verdict.fingerprint.url_error {
        eprintln!("refdedup: --url {}: {e}", args.url.as_deref().unwrap_or(""));
    }
    if let Some(e) = &verdict.fingerprint.media_error {
        let media = args.media.as_deref().unwrap_or(std::path::Path::new(""));
        eprintln!("refdedup: --media {}: digests only: {e}", media.display());
    }
    let mut value = serde_json::to_value(&verdict).map_err(|e| CliError::stdout(e.into()))?;
    value["id"] = serde_json::json!(referral.id);
    print_json(&value)
}
