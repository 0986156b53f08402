//! A small HTTP intake service: referrals in, verdicts out, one shared [`Engine`].
//!
//! ```text
//! REFDEDUP_TOKEN=change-me cargo run --release --example intake_service
//! curl -s -H 'Authorization: Bearer change-me' -H 'Content-Type: application/json' \
//!      -d '{"id":"r-1","url":"https://youtu.be/dQw4w9WgXcQ"}' http://127.0.0.1:8080/v1/referrals
//! ```
//!
//! Endpoints:
//! - `POST /v1/referrals`: check and record one referral; `POST /v1/check`: check only.
//!   Body: JSON `{"id": "...", "url": "...", "media_base64": "...", "received_at": "..."}`
//!   (`url` and `media_base64` optional, at least one of them). Answer: the verdict JSON
//!   (`"verdict": "new" | "duplicate" | "known"`, `evidence`, URL key and media hashes).
//!   Media may be a picture or a video (MP4, WebM, ...): a video is matched by its frame codes
//!   against known videos and earlier video referrals, and its evidence gives the matched time
//!   ranges on both sides (`evidence[].video`); without `ffmpeg` installed a video referral is
//!   answered 503 (pictures are unaffected).
//! - `GET /healthz`: liveness (no token needed).
//!
//! Every `/v1/` request needs `Authorization: Bearer <token>` with the token from the
//! environment variable `REFDEDUP_TOKEN` (the service refuses to start without one). Bodies
//! larger than `REFDEDUP_MAX_BODY` bytes (default 16 MiB) are refused with 413. Other settings:
//! `REFDEDUP_ADDR` (default `127.0.0.1:8080`; port 0 picks a free port), `REFDEDUP_DB` (a
//! database directory; default: in memory), `REFDEDUP_WAIT=1` (if another process holds the
//! database's writer lock, wait for it instead of refusing to start), `REFDEDUP_URL_RULES` (a
//! host rules file added to the URL keyer's built-in rules; docs/url-hosts.md). The first stdout
//! line is
//! `listening on http://ADDR`.
//!
//! The service is the database's one writer while it runs: it holds the store's lock, so a
//! `refdedup known import` or `check` against the same `--db` fails with exit status 5 (or
//! queues with `--wait`) instead of losing entries; `refdedup match` and `check --dry-run`
//! still read it.
//!
//! Hashing is CPU work, so each request runs on tokio's blocking pool; the engine is
//! `Send + Sync` and shared through an `Arc`.

use std::sync::Arc;

use axum::extract::{DefaultBodyLimit, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine as _;
use referral_dedup::engine::{Engine, EngineConfig, Referral};
use referral_dedup::store::StoreOptions;
use referral_dedup::video::VideoError;
use serde::Deserialize;
use serde_json::json;

struct AppState {
    engine: Engine,
    token: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ReferralIn {
    id: String,
    #[serde(default)]
    url: Option<String>,
    #[serde(default)]
    media_base64: Option<String>,
    #[serde(default)]
    received_at: Option<String>,
}

fn error(status: StatusCode, message: impl Into<String>) -> Response {
    (status, Json(json!({ "error": message.into() }))).into_response()
}

/// Constant-time comparison, so the token cannot be guessed byte by byte from timings.
fn same_secret(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn authorised(state: &AppState, headers: &HeaderMap) -> bool {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .is_some_and(|t| same_secret(t.trim().as_bytes(), state.token.as_bytes()))
}

async fn handle(
    state: Arc<AppState>,
    headers: HeaderMap,
    body: Result<Json<ReferralIn>, axum::extract::rejection::JsonRejection>,
    record: bool,
) -> Response {
    if !authorised(&state, &headers) {
        return error(StatusCode::UNAUTHORIZED, "missing or wrong bearer token");
    }
    let Json(input) = match body {
        Ok(b) => b,
        Err(rejection) => return error(rejection.status(), rejection.body_text()),
    };
    if input.id.trim().is_empty() {
        return error(StatusCode::BAD_REQUEST, "empty id");
    }
    if input.url.is_none() && input.media_base64.is_none() {
        return error(StatusCode::BAD_REQUEST, "need url or media_base64");
    }
    let mut referral = Referral::new(input.id);
    referral.url = input.url;
    referral.received_at = input.received_at;
    if let Some(b64) = input.media_base64 {
        match base64::engine::general_purpose::STANDARD.decode(b64.trim()) {
            Ok(bytes) => referral = referral.with_media_bytes(bytes),
            Err(e) => return error(StatusCode::BAD_REQUEST, format!("media_base64: {e}")),
        }
    }
    let worker = Arc::clone(&state);
    let result = tokio::task::spawn_blocking(move || {
        if record {
            worker.engine.check_and_record(&referral)
        } else {
            worker.engine.check(&referral)
        }
    })
    .await;
    match result {
        Ok(Ok(verdict)) => Json(verdict).into_response(),
        Ok(Err(e @ referral_dedup::Error::Video(VideoError::ToolMissing(_)))) => {
            error(StatusCode::SERVICE_UNAVAILABLE, e.to_string())
        }
        Ok(Err(e)) => error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
        Err(e) => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("worker failed: {e}"),
        ),
    }
}

fn app(state: Arc<AppState>, max_body: usize) -> Router {
    Router::new()
        .route(
            "/v1/referrals",
            post(|State(s): State<Arc<AppState>>, h: HeaderMap, b| handle(s, h, b, true)),
        )
        .route(
            "/v1/check",
            post(|State(s): State<Arc<AppState>>, h: HeaderMap, b| handle(s, h, b, false)),
        )
        .route("/healthz", get(|| async { "ok" }))
        .layer(DefaultBodyLimit::max(max_body))
        .with_state(state)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let token = std::env::var("REFDEDUP_TOKEN").unwrap_or_default();
    if token.trim().len() < 8 {
        return Err("set REFDEDUP_TOKEN to a bearer token of at least 8 characters".into());
    }
    let max_body: usize = match std::env::var("REFDEDUP_MAX_BODY") {
        Ok(v) => v.parse().map_err(|e| format!("REFDEDUP_MAX_BODY: {e}"))?,
        Err(_) => 16 << 20,
    };
    let addr = std::env::var("REFDEDUP_ADDR").unwrap_or_else(|_| "127.0.0.1:8080".into());
    let mut config = EngineConfig::default();
    if let Some(path) = std::env::var_os("REFDEDUP_URL_RULES") {
        let rules = referral_dedup::url::HostRules::from_file(path.as_ref())
            .map_err(|e| format!("REFDEDUP_URL_RULES: {e}"))?;
        config.url_rules = Some(rules);
    }
    let wait = std::env::var("REFDEDUP_WAIT").is_ok_and(|v| v == "1");
    let engine = match std::env::var_os("REFDEDUP_DB") {
        // Holds the writer lock until the service exits: one writer per database.
        Some(dir) => {
            let options = StoreOptions::default().with_wait_for_lock(wait);
            Engine::open_with(&dir, config, options)
                .map_err(|e| format!("REFDEDUP_DB {}: {e}", std::path::Path::new(&dir).display()))?
        }
        None => Engine::in_memory(config)?,
    };
    let state = Arc::new(AppState {
        engine,
        token: token.trim().to_string(),
    });
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    println!("listening on http://{}", listener.local_addr()?);
    axum::serve(listener, app(Arc::clone(&state), max_body))
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    state.engine.sync()?;
    Ok(())
}
