//! The one S3 server every client talks to: `s3s-fs` on loopback, started
//! by the bench itself (own port, own data folder, own credentials), or an
//! already running one named by `PLUGBAY_TEST_S3_*`.

use std::net::{Ipv4Addr, SocketAddrV4, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Where the server is and how to sign for it.
pub(crate) struct S3Peer {
    pub(crate) endpoint: String,
    pub(crate) bucket: String,
    pub(crate) access_key: String,
    pub(crate) secret_key: String,
    /// The server process when the bench started it (killed on drop).
    child: Option<Child>,
    _data: Option<tempfile::TempDir>,
}

impl S3Peer {
    /// The peer of `PLUGBAY_TEST_S3_ENDPOINT` (+ `_BUCKET`, `_ACCESS_KEY`,
    /// `_SECRET_KEY`) if set, else a private `s3s-fs`.
    pub(crate) fn start() -> Result<S3Peer, String> {
        if let Ok(endpoint) = std::env::var("PLUGBAY_TEST_S3_ENDPOINT") {
            let var = |name: &str| {
                std::env::var(name)
                    .map_err(|_| format!("{name} must be set with PLUGBAY_TEST_S3_ENDPOINT"))
            };
            return Ok(S3Peer {
                endpoint,
                bucket: std::env::var("PLUGBAY_TEST_S3_BUCKET")
                    .unwrap_or_else(|_| "plugbay-test".into()),
                access_key: var("PLUGBAY_TEST_S3_ACCESS_KEY")?,
                secret_key: var("PLUGBAY_TEST_S3_SECRET_KEY")?,
                child: None,
                _data: None,
            });
        }
        let bin = s3s_binary()?;
        let data = tempfile::Builder::new()
            .prefix("plugbay-bench-s3s-")
            .tempdir()
            .map_err(|e| format!("cannot create the s3s-fs data folder: {e}"))?;
        let bucket = "plugbay-bench".to_owned();
        std::fs::create_dir_all(data.path().join(&bucket))
            .map_err(|e| format!("cannot create the bucket folder: {e}"))?;
        let port = free_port()?;
        let access_key = "plugbay-bench-ak".to_owned();
        let secret_key = format!("plugbay-bench-sk-{}", std::process::id());
        let child = Command::new(&bin)
            .args(["--host", "127.0.0.1", "--port", &port.to_string()])
            .args(["--access-key", &access_key, "--secret-key", &secret_key])
            .arg(data.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", bin.display()))?;
        let mut peer = S3Peer {
            endpoint: format!("http://127.0.0.1:{port}"),
            bucket,
            access_key,
            secret_key,
            child: Some(child),
            _data: Some(data),
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        let addr = SocketAddrV4::new(Ipv4Addr::LOCALHOST, port);
        while TcpStream::connect_timeout(&addr.into(), Duration::from_millis(200)).is_err() {
            if let Some(child) = peer.child.as_mut()
                && let Ok(Some(status)) = child.try_wait()
            {
                return Err(format!("s3s-fs exited at start: {status}"));
            }
            if Instant::now() > deadline {
                return Err("s3s-fs did not open its port within 20 s".into());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(peer)
    }

    /// The server's process id, when the bench started it.
    pub(crate) fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }
}

impl Drop for S3Peer {
    fn drop(&mut self) {
        if let Some(child) = self.child.as_mut() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// `PLUGBAY_S3S_BIN`, else `$PLUGBAY_CACHE/s3s/bin/s3s-fs` (default cache
/// `~/.cache/plugbay`), as installed by `scripts/peers.d/s3s.sh`.
fn s3s_binary() -> Result<PathBuf, String> {
    if let Ok(bin) = std::env::var("PLUGBAY_S3S_BIN") {
        return Ok(PathBuf::from(bin));
    }
    let cache = match std::env::var("PLUGBAY_CACHE") {
        Ok(dir) => PathBuf::from(dir),
        Err(_) => PathBuf::from(std::env::var("HOME").unwrap_or_else(|_| "/root".into()))
            .join(".cache/plugbay"),
    };
    let bin = cache.join("s3s/bin/s3s-fs");
    if bin.is_file() {
        Ok(bin)
    } else {
        Err(format!(
            "no s3s-fs at {}: run `bash -c 'source scripts/peers.sh; mkdir -p \"$PLUGBAY_CACHE\"; peer_s3s'` once, or set PLUGBAY_S3S_BIN or PLUGBAY_TEST_S3_ENDPOINT",
            bin.display()
        ))
    }
}

fn free_port() -> Result<u16, String> {
    let listener =
        TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).map_err(|e| format!("no free port: {e}"))?;
    listener
        .local_addr()
        .map(|a| a.port())
        .map_err(|e| format!("no free port: {e}"))
}
