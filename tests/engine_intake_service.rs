//! The intake service example (`examples/intake_service.rs`) over real HTTP on 127.0.0.1:
//! bearer-token checks, the size limit, verdicts from one shared engine, concurrent clients.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use base64::Engine as _;
use serde_json::{json, Value};

const TOKEN: &str = "test-token-0123456789";

/// The example binary, built by `cargo test` next to the test binaries (built on demand when a
/// test is run on its own).
fn example_binary() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let profile_dir = exe.parent().unwrap().parent().unwrap().to_path_buf();
    let path = profile_dir
        .join("examples")
        .join(format!("intake_service{}", std::env::consts::EXE_SUFFIX));
    if !path.exists() {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let status = Command::new(cargo)
            .args(["build", "--example", "intake_service"])
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .status()
            .unwrap();
        assert!(status.success());
    }
    path
}

struct Service {
    child: Child,
    base: String,
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(max_body: usize, db: Option<&std::path::Path>) -> Service {
    start_with_rules(max_body, db, None)
}

/// [`start`], with `REFDEDUP_URL_RULES` set to `rules` when given.
fn start_with_rules(
    max_body: usize,
    db: Option<&std::path::Path>,
    rules: Option<&std::path::Path>,
) -> Service {
    let mut cmd = Command::new(example_binary());
    cmd.env_remove("REFDEDUP_URL_RULES");
    if let Some(rules) = rules {
        cmd.env("REFDEDUP_URL_RULES", rules);
    }
    cmd.env("REFDEDUP_TOKEN", TOKEN)
        .env("REFDEDUP_ADDR", "127.0.0.1:0")
        .env("REFDEDUP_MAX_BODY", max_body.to_string())
        .env_remove("REFDEDUP_DB")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    if let Some(db) = db {
        cmd.env("REFDEDUP_DB", db);
    }
    let mut child = cmd.spawn().unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let base = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_string();
    Service { child, base }
}

fn post(s: &Service, path: &str, token: Option<&str>, body: &Value) -> (u16, Value) {
    let mut req = ureq::post(&format!("{}{path}", s.base));
    if let Some(t) = token {
        req = req.set("Authorization", &format!("Bearer {t}"));
    }
    match req.send_json(body.clone()) {
        Ok(resp) => (resp.status(), resp.into_json().unwrap()),
        Err(ureq::Error::Status(code, resp)) => (code, resp.into_json().unwrap_or(Value::Null)),
        Err(e) => panic!("transport error: {e}"),
    }
}

/// POSTs a JSON body of `len` bytes from a writer thread and returns the status the service
/// answers with (read on this thread, whatever happens to the writer).
fn status_of_oversized_post(s: &Service, path: &str, len: usize) -> u16 {
    use std::io::{Read, Write};
    let addr = s.base.trim_start_matches("http://").to_string();
    let mut stream = std::net::TcpStream::connect(&addr).unwrap();
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(30)))
        .unwrap();
    let mut writer = stream.try_clone().unwrap();
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {TOKEN}\r\n\
         Content-Type: application/json\r\nContent-Length: {len}\r\n\r\n"
    );
    let body = format!(
        "{{\"id\": \"big\", \"media_base64\": \"{}\"}}",
        "A".repeat(len - 33)
    );
    assert_eq!(body.len(), len);
    let sender = std::thread::spawn(move || {
        let _ = writer.write_all(head.as_bytes());
        let _ = writer.write_all(body.as_bytes());
    });
    let mut answer = [0u8; 12];
    stream.read_exact(&mut answer).unwrap();
    drop(stream);
    let _ = sender.join();
    let text = String::from_utf8_lossy(&answer);
    text.strip_prefix("HTTP/1.1 ")
        .and_then(|rest| rest.trim().parse().ok())
        .unwrap_or_else(|| panic!("unexpected answer {text:?}"))
}

fn picture_jpeg() -> Vec<u8> {
    let img = image::RgbImage::from_fn(160, 120, |x, y| {
        let v = (128.0 + 80.0 * ((x as f32) * 0.09).sin() + 40.0 * ((y as f32) * 0.13).cos()) as u8;
        image::Rgb([v, 255 - v, (x * 2) as u8])
    });
    let mut out = Vec::new();
    img.write_with_encoder(image::codecs::jpeg::JpegEncoder::new_with_quality(
        &mut out, 90,
    ))
    .unwrap();
    out
}

#[test]
fn intake_service_over_http() {
    let s = start(256 * 1024, None);
    let health = ureq::get(&format!("{}/healthz", s.base)).call().unwrap();
    assert_eq!(health.status(), 200);

    let referral =
        json!({"id": "r-1", "url": "https://www.tiktok.com/@someone/video/7234567890123456789"});
    // No token, wrong token.
    assert_eq!(post(&s, "/v1/referrals", None, &referral).0, 401);
    assert_eq!(
        post(&s, "/v1/referrals", Some("wrong-token-xxxxxxx"), &referral).0,
        401
    );

    let (status, v) = post(&s, "/v1/referrals", Some(TOKEN), &referral);
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["verdict"], "new");

    // Same item, another spelling: a duplicate of r-1, with evidence.
    let (status, v) = post(
        &s,
        "/v1/check",
        Some(TOKEN),
        &json!({"id": "r-2", "url": "https://m.tiktok.com/v/7234567890123456789.html?lang=en"}),
    );
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["verdict"], "duplicate");
    assert_eq!(v["evidence"][0]["external_id"], "r-1");
    assert_eq!(v["evidence"][0]["kind"], "url_key");

    // Media as base64: recorded by one client, caught for another.
    let b64 = base64::engine::general_purpose::STANDARD.encode(picture_jpeg());
    let (status, v) = post(
        &s,
        "/v1/referrals",
        Some(TOKEN),
        &json!({"id": "m-1", "media_base64": b64}),
    );
    assert_eq!((status, v["verdict"].as_str()), (200, Some("new")), "{v}");
    let (status, v) = post(
        &s,
        "/v1/referrals",
        Some(TOKEN),
        &json!({"id": "m-2", "media_base64": b64}),
    );
    assert_eq!(status, 200);
    assert_eq!(v["verdict"], "duplicate");
    assert_eq!(v["evidence"][0]["external_id"], "m-1");
    assert_eq!(v["evidence"][0]["kind"], "blake3");
    assert!(v["media"]["pdq"].is_string());

    // Bad input.
    assert_eq!(
        post(&s, "/v1/check", Some(TOKEN), &json!({"id": "x"})).0,
        400
    );
    assert_eq!(
        post(
            &s,
            "/v1/check",
            Some(TOKEN),
            &json!({"id": "x", "media_base64": "!!"})
        )
        .0,
        400
    );
    assert_eq!(
        post(
            &s,
            "/v1/check",
            Some(TOKEN),
            &json!({"url": "https://t.me/a/1"})
        )
        .0,
        422
    );

    // Over the size limit. The service answers once it has read the limit and then closes,
    // so a client still writing the rest may see a broken pipe instead of the answer: the
    // request is written from another thread (its write error ignored) while this one reads.
    assert_eq!(status_of_oversized_post(&s, "/v1/check", 400 * 1024), 413);

    // Concurrent clients share one engine: eight identical referrals, one "new".
    let base = s.base.clone();
    let handles: Vec<_> = (0..8)
        .map(|i| {
            let base = base.clone();
            std::thread::spawn(move || {
                let resp = ureq::post(&format!("{base}/v1/referrals"))
                    .set("Authorization", &format!("Bearer {TOKEN}"))
                    .send_json(json!({"id": format!("c-{i}"), "url": "https://x.com/a/status/42"}))
                    .unwrap();
                let v: Value = resp.into_json().unwrap();
                v["verdict"].as_str().unwrap().to_string()
            })
        })
        .collect();
    let verdicts: Vec<String> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    assert_eq!(
        verdicts.iter().filter(|v| *v == "new").count(),
        1,
        "{verdicts:?}"
    );
}

#[test]
fn intake_service_refuses_to_start_without_token() {
    let out = Command::new(example_binary())
        .env_remove("REFDEDUP_TOKEN")
        .env("REFDEDUP_ADDR", "127.0.0.1:0")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("REFDEDUP_TOKEN"));
}

#[test]
fn intake_service_persists_to_a_database() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db");
    {
        let s = start(64 * 1024, Some(&db));
        let (status, v) = post(
            &s,
            "/v1/referrals",
            Some(TOKEN),
            &json!({"id": "p-1", "url": "https://redd.it/abc12"}),
        );
        assert_eq!((status, v["verdict"].as_str()), (200, Some("new")));
    }
    let s = start(64 * 1024, Some(&db));
    let (_, v) = post(
        &s,
        "/v1/check",
        Some(TOKEN),
        &json!({"id": "p-2", "url": "https://www.reddit.com/r/x/comments/abc12/title/"}),
    );
    assert_eq!(v["verdict"], "duplicate", "{v}");
}

#[test]
fn intake_service_matches_a_video_referral_with_time_ranges() {
    let Some(v) = crate::video_engine::videos() else {
        return;
    };
    let s = start(16 << 20, None);
    let b64 = |p: &std::path::Path| {
        base64::engine::general_purpose::STANDARD.encode(std::fs::read(p).unwrap())
    };
    let (status, first) = post(
        &s,
        "/v1/referrals",
        Some(TOKEN),
        &json!({"id": "v-1", "media_base64": b64(&v.known)}),
    );
    assert_eq!(
        (status, first["verdict"].as_str()),
        (200, Some("new")),
        "{first}"
    );
    assert!(first["video"]["frames"].as_u64().unwrap() > 0, "{first}");
    let (status, copy) = post(
        &s,
        "/v1/check",
        Some(TOKEN),
        &json!({"id": "v-2", "media_base64": b64(&v.copy)}),
    );
    assert_eq!(
        (status, copy["verdict"].as_str()),
        (200, Some("duplicate")),
        "{copy}"
    );
    let evidence = &copy["evidence"][0];
    assert_eq!(
        (evidence["external_id"].as_str(), evidence["kind"].as_str()),
        (Some("v-1"), Some("vpdq"))
    );
    assert!(evidence["video"]["known_start"].is_number(), "{evidence}");
    let (_, other) = post(
        &s,
        "/v1/check",
        Some(TOKEN),
        &json!({"id": "v-3", "media_base64": b64(&v.other)}),
    );
    assert_eq!(other["verdict"], "new", "{other}");
}

#[test]
fn intake_service_keys_urls_with_a_user_rules_file() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("hosts.rules");
    std::fs::write(&rules, crate::url_hosts::USER_RULES).unwrap();
    let first = json!({"id": "p-1", "url": "https://pastey.example/p/AbC123"});
    let again = json!({"id": "p-2", "url": "https://paste.example.net/view?id=AbC123"});
    // Without the rules the two spellings are two items; with them, one.
    for (rules, expected) in [(None, "new"), (Some(rules.as_path()), "duplicate")] {
        let s = start_with_rules(64 * 1024, None, rules);
        assert_eq!(post(&s, "/v1/referrals", Some(TOKEN), &first).0, 200);
        let (status, v) = post(&s, "/v1/check", Some(TOKEN), &again);
        assert_eq!(status, 200, "{v}");
        assert_eq!(v["verdict"], expected, "rules {rules:?}: {v}");
    }
}
