//! End to end: the BUILT `plugbay-server` binary on port 0, walked over real
//! HTTP: login, upload, memory, streamed chat, signed Stripe webhook and its
//! replay, download (whole and a range), readiness, graceful shutdown; and
//! memories surviving a graceful restart on the same data folder.
//!
//! The binary comes from `PLUGBAY_SERVER_BIN` (set by `scripts/test`), else
//! from the target folder this test runs from. When it is missing the test
//! fails under `CI=true` and is skipped with a printed reason elsewhere.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use plugbay::webhooks::conformance::signers::sign_stripe;
use serde_json::{Value, json};

const STRIPE_SECRET: &str = "whsec_e2e_0123456789abcdef";
const GITHUB_SECRET: &str = "e2e-github-secret";

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// The server binary, or `None` (after saying why) when it is not built.
fn server_binary() -> Option<PathBuf> {
    let candidate = match std::env::var_os("PLUGBAY_SERVER_BIN") {
        Some(path) => PathBuf::from(path),
        None => {
            // <target>/debug/deps/e2e_server-HASH -> <target>/debug/plugbay-server
            let exe = std::env::current_exe().unwrap();
            let profile_dir = exe.parent().and_then(|deps| deps.parent()).unwrap();
            profile_dir.join(format!("plugbay-server{}", std::env::consts::EXE_SUFFIX))
        }
    };
    if candidate.is_file() {
        return Some(candidate);
    }
    let reason = format!(
        "the plugbay-server binary is not at {} (build it with `cargo build -p plugbay-server` \
         or set PLUGBAY_SERVER_BIN)",
        candidate.display()
    );
    if in_ci() {
        panic!("CI=true: {reason}");
    }
    eprintln!("skipping the end-to-end test: {reason}");
    None
}

/// The running server; killed on drop, so a failing test leaves no process.
struct Server {
    child: Child,
    base: String,
    output: Arc<Mutex<Vec<String>>>,
    /// The data folder, when this server owns it (removed on drop).
    _data: Option<tempfile::TempDir>,
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        if std::thread::panicking() {
            eprintln!("--- server output ---");
            for line in self.output.lock().unwrap().iter() {
                eprintln!("{line}");
            }
        }
    }
}

impl Server {
    /// Start on a fresh data folder the server owns.
    fn start(binary: &Path) -> Server {
        let data = tempfile::tempdir().unwrap();
        let mut server = Server::start_in(binary, data.path());
        server._data = Some(data);
        server
    }

    /// Start on the data folder `data` (kept by the caller, so a second
    /// server can start on it).
    fn start_in(binary: &Path, data: &Path) -> Server {
        // A clean environment: the server must run on its embedded defaults
        // plus exactly what this test sets (and no stray REDIS_URL).
        let mut child = Command::new(binary)
            .env_clear()
            .env("PLUGBAY_ADDR", "127.0.0.1:0")
            .env("PLUGBAY_DATA_DIR", data)
            .env("STRIPE_WEBHOOK_SECRET", STRIPE_SECRET)
            .env("GITHUB_WEBHOOK_SECRET", GITHUB_SECRET)
            .env("LOG_FORMAT", "json")
            .env("RUST_LOG", "info")
            .current_dir(data)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let output = Arc::new(Mutex::new(Vec::new()));
        let (port_tx, port_rx) = mpsc::channel();
        let stdout = child.stdout.take().unwrap();
        let lines = output.clone();
        // Keep draining stdout for the server's whole life, or its log
        // writes would block on a full pipe.
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(addr) = line.strip_prefix("listening on http://") {
                    let _ = port_tx.send(addr.trim().to_owned());
                }
                lines.lock().unwrap().push(line);
            }
        });
        let stderr = child.stderr.take().unwrap();
        let lines = output.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                lines.lock().unwrap().push(format!("stderr: {line}"));
            }
        });
        let mut server = Server {
            child,
            base: String::new(),
            output,
            _data: None,
        };
        match port_rx.recv_timeout(Duration::from_secs(30)) {
            Ok(addr) => server.base = format!("http://{addr}"),
            Err(_) => panic!(
                "the server did not print its address within 30 s (exit: {:?})",
                server.child.try_wait()
            ),
        }
        server
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Send SIGTERM and wait for a successful exit. `false` when SIGTERM
    /// cannot be sent here (not Unix, no `kill`).
    fn terminate(&mut self) -> bool {
        if !cfg!(unix) {
            return false;
        }
        let pid = self.child.id().to_string();
        let sent = Command::new("kill").args(["-TERM", &pid]).status();
        if !sent.is_ok_and(|s| s.success()) {
            return false;
        }
        let deadline = Instant::now() + Duration::from_secs(15);
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            assert!(Instant::now() < deadline, "no exit within 15 s of SIGTERM");
            std::thread::sleep(Duration::from_millis(50));
        };
        assert!(status.success(), "exit status after SIGTERM: {status}");
        true
    }
}

/// A development login as `user`.
async fn dev_login(http: &reqwest::Client, server: &Server, user: &str) -> String {
    let login: Value = http
        .post(server.url("/auth/dev-login"))
        .json(&json!({"user_id": user, "scopes": ["files", "chat"]}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    login["access_token"]
        .as_str()
        .expect("an access token")
        .to_owned()
}

fn payload() -> Vec<u8> {
    // 300 KB that is not one repeated byte, so ranges are checked for real.
    (0..300_000u32)
        .map(|i| (i.wrapping_mul(31) % 251) as u8)
        .collect()
}

fn sse_events(body: &str) -> Vec<(String, Value)> {
    body.split("\n\n")
        .filter_map(|block| {
            let mut name = "message".to_owned();
            let mut data = String::new();
            for line in block.lines() {
                if let Some(v) = line.strip_prefix("event:") {
                    name = v.trim().to_owned();
                } else if let Some(v) = line.strip_prefix("data:") {
                    data.push_str(v.strip_prefix(' ').unwrap_or(v));
                }
            }
            (!data.is_empty()).then(|| (name, serde_json::from_str(&data).unwrap()))
        })
        .collect()
}

#[tokio::test]
async fn the_built_server_walks_end_to_end() {
    let Some(binary) = server_binary() else {
        return;
    };
    let mut server = Server::start(&binary);
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();

    let health = http.get(server.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200);

    // Login.
    let token = dev_login(&http, &server, "e2e-user").await;

    // Upload a file.
    let data = payload();
    let put = http
        .put(server.url("/v1/files/reports/q1.bin"))
        .bearer_auth(&token)
        .header("content-type", "application/octet-stream")
        .body(data.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), 201, "{}", put.text().await.unwrap());

    // Add a memory.
    let added = http
        .post(server.url("/v1/memories"))
        .bearer_auth(&token)
        .json(&json!({"text": "My favourite city is Lisbon"}))
        .send()
        .await
        .unwrap();
    assert_eq!(added.status(), 201);

    // Streamed chat: the memory is retrieved and listed in `done`.
    let chat = http
        .post(server.url("/v1/chat"))
        .bearer_auth(&token)
        .json(&json!({"stream": true, "messages": [{"role": "user", "content": "Which city do I like best?"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(chat.status(), 200);
    assert!(
        chat.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream")
    );
    let events = sse_events(&chat.text().await.unwrap());
    let text: String = events
        .iter()
        .filter(|(name, _)| name == "delta")
        .map(|(_, d)| d["text"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(text, "[mock] Which city do I like best?");
    let (last, done) = events.last().expect("some events");
    assert_eq!(last, "done", "{events:?}");
    assert_eq!(done["backend"], "mock");
    let recalled: Vec<&str> = done["memories"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["text"].as_str().unwrap())
        .collect();
    assert!(
        recalled.contains(&"My favourite city is Lisbon"),
        "{recalled:?}"
    );

    // A signed Stripe webhook, then its replay.
    let event = json!({"id": "evt_e2e_1", "object": "event", "type": "checkout.session.completed", "data": {"object": {}}})
        .to_string();
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let signature = sign_stripe(STRIPE_SECRET, now, event.as_bytes());
    let deliver = |signature: String| {
        http.post(server.url("/api/webhooks/stripe"))
            .header("content-type", "application/json")
            .header("stripe-signature", signature)
            .body(event.clone())
            .send()
    };
    let first = deliver(signature.clone()).await.unwrap();
    assert_eq!(first.status(), 200);
    assert_eq!(first.json::<Value>().await.unwrap()["duplicate"], false);
    let replay = deliver(signature).await.unwrap();
    assert_eq!(replay.status(), 200);
    assert_eq!(replay.json::<Value>().await.unwrap()["duplicate"], true);
    let forged = deliver(sign_stripe("whsec_not_ours", now, event.as_bytes()))
        .await
        .unwrap();
    assert_eq!(forged.status(), 401);

    // Download, whole and a range.
    let whole = http
        .get(server.url("/v1/files/reports/q1.bin"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(whole.status(), 200);
    assert_eq!(whole.bytes().await.unwrap().as_ref(), data.as_slice());
    let part = http
        .get(server.url("/v1/files/reports/q1.bin"))
        .bearer_auth(&token)
        .header("range", "bytes=1000-1999")
        .send()
        .await
        .unwrap();
    assert_eq!(part.status(), 206);
    assert_eq!(part.headers()["content-range"], "bytes 1000-1999/300000");
    assert_eq!(part.bytes().await.unwrap().as_ref(), &data[1000..2000]);

    // Every concern answers, and the mock says it is one.
    let ready = http.get(server.url("/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), 200);
    let ready: Value = ready.json().await.unwrap();
    let llm = ready["concerns"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["concern"] == "llm")
        .unwrap()
        .clone();
    assert_eq!(llm["backend"], "mock");

    // SIGTERM shuts it down gracefully (Unix only: `kill` sends it).
    server.terminate();
}

#[tokio::test]
async fn memories_survive_a_graceful_restart_on_embedded_defaults() {
    let Some(binary) = server_binary() else {
        return;
    };
    if !cfg!(unix) {
        eprintln!("skipping the restart test: it stops the server with SIGTERM (Unix only)");
        return;
    }
    let data = tempfile::tempdir().unwrap();
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();

    let mut first = Server::start_in(&binary, data.path());
    let token = dev_login(&http, &first, "restart-user").await;
    let added = http
        .post(first.url("/v1/memories"))
        .bearer_auth(&token)
        .json(&json!({"text": "My cat is called Pixel"}))
        .send()
        .await
        .unwrap();
    assert_eq!(added.status(), 201);
    let added: Value = added.json().await.unwrap();
    let id = added["events"][0]["memory_id"]
        .as_str()
        .expect("an add event")
        .to_owned();
    // Stopped well inside the snapshot's debounce: only the flush at
    // graceful shutdown can have saved the memory.
    assert!(first.terminate(), "SIGTERM could not be sent");
    drop(first);
    assert!(data.path().join("vectors.snapshot").is_file());
    let history = std::fs::read_to_string(data.path().join("memory-history.jsonl")).unwrap();
    assert!(history.contains(&id), "{history}");

    // The generated JWT secret died with the first process: log in again.
    let mut second = Server::start_in(&binary, data.path());
    let token = dev_login(&http, &second, "restart-user").await;
    let listed = http
        .get(second.url("/v1/memories"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(listed.status(), 200);
    let listed: Value = listed.json().await.unwrap();
    let texts: Vec<(&str, &str)> = listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (m["id"].as_str().unwrap(), m["text"].as_str().unwrap()))
        .collect();
    assert_eq!(texts, [(id.as_str(), "My cat is called Pixel")]);
    let found = http
        .post(second.url("/v1/memories/search"))
        .bearer_auth(&token)
        .json(&json!({"query": "what is my cat called?"}))
        .send()
        .await
        .unwrap();
    assert_eq!(found.status(), 200);
    let found: Value = found.json().await.unwrap();
    assert_eq!(found["results"][0]["id"], id.as_str(), "{found}");
    // Another user still sees nothing.
    let other = dev_login(&http, &second, "someone-else").await;
    let theirs: Value = http
        .get(second.url("/v1/memories"))
        .bearer_auth(&other)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(theirs["items"], json!([]), "{theirs}");
    second.terminate();
}
