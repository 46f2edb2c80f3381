//! `cargo xtask demo`: the browser package, the sync API in demo mode on a fresh database (the demo
//! shop seeded, TikTok Shop simulated), and the widget's page, on loopback.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use crate::{cargo, root};

/// The port unless `PREFLIGHT_DEMO_PORT` says otherwise.
pub const DEFAULT_PORT: u16 = 8787;

/// How long the server may take to answer `/healthz`.
pub const START_TIMEOUT: Duration = Duration::from_secs(30);

/// Builds everything, starts the server on a fresh database, waits until it answers, says where to
/// go, then runs until the server stops (Ctrl-C stops both).
pub fn demo() -> Result<(), String> {
    crate::build::build()?;
    build_server()?;
    let port = port()?;
    let dir = target_dir().join("demo");
    fresh_dir(&dir)?;
    let mut child = spawn_server(port, &dir)?;
    if let Err(message) = wait_until_healthy(&mut child, port, START_TIMEOUT) {
        // The child may be gone already; a kill of an exited child is harmless.
        let _ = child.kill();
        let _ = child.wait();
        return Err(message);
    }
    print_welcome(port);
    let status = child
        .wait()
        .map_err(|e| format!("cannot wait for the server: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("the server stopped: {status}"))
    }
}

/// The server binary, in the debug profile (CI's build cache holds it).
pub fn build_server() -> Result<(), String> {
    cargo(&["build", "--package", "preflight-server"])
}

/// The port of the demo: `PREFLIGHT_DEMO_PORT`, else [`DEFAULT_PORT`].
pub fn port() -> Result<u16, String> {
    match std::env::var("PREFLIGHT_DEMO_PORT") {
        Ok(text) => text
            .trim()
            .parse()
            .map_err(|_| format!("PREFLIGHT_DEMO_PORT `{text}` is not a port number")),
        Err(_) => Ok(DEFAULT_PORT),
    }
}

/// Cargo's target folder.
fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root().join("target"), PathBuf::from)
}

/// Deletes `dir` when it exists and creates it empty.
fn fresh_dir(dir: &Path) -> Result<(), String> {
    match std::fs::remove_dir_all(dir) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(format!("cannot delete `{}`: {e}", dir.display())),
    }
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create `{}`: {e}", dir.display()))
}

/// Starts the built server in demo mode on `127.0.0.1:port`, with its database in `dir`, serving
/// `www/` and `pkg/`, with fresh random secrets. The caller waits for it (see
/// [`wait_until_healthy`]) and stops it.
pub fn spawn_server(port: u16, dir: &Path) -> Result<Child, String> {
    let root = root();
    let binary = target_dir().join("debug").join("preflight-server");
    if !binary.is_file() {
        return Err(format!(
            "no server at `{}`: run `cargo build --package preflight-server`",
            binary.display()
        ));
    }
    let listen = SocketAddr::from((Ipv4Addr::LOCALHOST, port)).to_string();
    let database = dir.join("preflight.sqlite3");
    let shopify_secret = random_hex(32)?;
    let tts_secret = random_hex(32)?;
    let mut command = Command::new(&binary);
    command
        .current_dir(&root)
        .arg("--demo")
        .args(["--listen", &listen])
        .arg("--database")
        .arg(&database)
        .arg("--www")
        .arg(root.join("www"))
        .arg("--pkg")
        .arg(root.join("pkg"))
        .args(["--shopify-app-key", "preflight-demo"])
        .args(["--shopify-app-secret", &shopify_secret])
        .args(["--tts-app-key", "demo"])
        .args(["--tts-app-secret", &tts_secret]);
    eprintln!(
        "xtask: $ {} --demo --listen {listen} --database {} --www www --pkg pkg …",
        binary.display(),
        database.display()
    );
    command
        .spawn()
        .map_err(|e| format!("cannot start `{}`: {e}", binary.display()))
}

/// Polls `GET /healthz` on `127.0.0.1:port` until it answers 200, failing when the child exits first
/// or after `timeout`.
pub fn wait_until_healthy(child: &mut Child, port: u16, timeout: Duration) -> Result<(), String> {
    let started = Instant::now();
    loop {
        if let Some(status) = child
            .try_wait()
            .map_err(|e| format!("cannot watch the server: {e}"))?
        {
            return Err(format!(
                "the server exited before it answered ({status}); its log is above"
            ));
        }
        if healthz(port) {
            return Ok(());
        }
        if started.elapsed() >= timeout {
            return Err(format!(
                "the server did not answer GET /healthz on port {port} within {} s",
                timeout.as_secs()
            ));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Whether `GET /healthz` answers 200.
fn healthz(port: u16) -> bool {
    let address = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let Ok(mut stream) = TcpStream::connect_timeout(&address, Duration::from_secs(1)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    let request = "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
    if stream.write_all(request.as_bytes()).is_err() {
        return false;
    }
    let mut head = [0_u8; 12];
    stream.read_exact(&mut head).is_ok() && head.starts_with(b"HTTP/1.1 200")
}

/// `bytes` random bytes as hex, from the system's random source (std's hashing keys without one).
fn random_hex(bytes: usize) -> Result<String, String> {
    let mut buffer = vec![0_u8; bytes];
    let read = std::fs::File::open("/dev/urandom").and_then(|mut f| f.read_exact(&mut buffer));
    if read.is_err() {
        use std::hash::{BuildHasher, Hasher};
        for chunk in buffer.chunks_mut(8) {
            let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
            hasher.write_u128(
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_nanos()),
            );
            let word = hasher.finish().to_le_bytes();
            for (slot, byte) in chunk.iter_mut().zip(word) {
                *slot = byte;
            }
        }
    }
    if buffer.iter().all(|b| *b == 0) {
        return Err("no randomness for the demo's secrets".into());
    }
    Ok(buffer.iter().map(|b| format!("{b:02x}")).collect())
}

fn print_welcome(port: u16) {
    let url = format!("http://127.0.0.1:{port}/");
    println!(
        "
  ────────────────────────────────────────────────────────────────────────
    Fulfillment Preflight demo:   {url}
  ────────────────────────────────────────────────────────────────────────
    A demo shop of 40 fulfillments, TikTok Shop simulated. Try:
    • #1053.1 \"Harbor 3PL\": add the carrier mapping Harbor 3PL → UPS;
      it fixes #1054.1 too. Then sync both.
    • #1069.1: the UPS number is one digit off. Fix it to 1Z4F9W170394428716,
      then sync.
    • #1077.1: the preview says ready, but the items were shipped in TikTok
      Shop Seller Center since; sync it and the re-check refuses (422).
    • #1063.1: a carrier name that is markup, shown as plain text.
    • #1007.1: the only tracking update left, about 5 hours before it closes;
      #1014.1 and #1002.1: the update already used, the window expired.
    • #1055.1: a USPS label bought in Shopify, refused by TikTok Shop US
      since 2026-01-01: buy it through TikTok Shipping or ship with another
      carrier.
    • #1041.1: its order's delivery option offers USPS and UPS only, not FedEx.
    • Change at TikTok Shop (under the list): cancel #1048.1 there, and its
      open row turns Will fail within seconds, with no reload. The seller can
      also ship in Seller Center, withdraw the app (then reconnect), …
    Ctrl-C stops it. Each run starts on a fresh database in target/demo/.
"
    );
}
