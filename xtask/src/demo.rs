//! `cargo xtask demo`: the browser package, the sync API in demo mode on a fresh database (the demo
//! shop seeded, TikTok Shop simulated), and the widget's page, on loopback.
//!
//! `cargo xtask demo --instances 3 --database postgres`: the same shop on a PostgreSQL server of its
//! own, served by three instances, with TikTok Shop and Shopify simulated by a `preflight-simulators`
//! process they share (which seeds the shop).

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::{cargo, root};

/// The port unless `PREFLIGHT_DEMO_PORT` says otherwise.
pub const DEFAULT_PORT: u16 = 8787;

/// How long the server may take to answer `/healthz`.
pub const START_TIMEOUT: Duration = Duration::from_secs(30);

/// Where the demo keeps its state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Backend {
    Sqlite,
    Postgres,
}

/// `--instances N` and `--database sqlite|postgres`, as given after `cargo xtask demo`.
fn options(args: &[String]) -> Result<(usize, Backend), String> {
    let (mut instances, mut backend) = (1, Backend::Sqlite);
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        let value = args.next();
        match (arg.as_str(), value.map(String::as_str)) {
            ("--instances", Some(n)) => {
                instances = n
                    .parse()
                    .ok()
                    .filter(|n| (1..=9).contains(n))
                    .ok_or_else(|| format!("--instances `{n}`: a number from 1 to 9"))?;
            }
            ("--database", Some("sqlite")) => backend = Backend::Sqlite,
            ("--database", Some("postgres")) => backend = Backend::Postgres,
            ("--database", Some(other)) => {
                return Err(format!("--database `{other}`: `sqlite` or `postgres`"))
            }
            (other, _) => {
                return Err(format!(
                    "unknown demo option `{other}`: `--instances N`, `--database sqlite|postgres`"
                ))
            }
        }
    }
    if instances > 1 && backend == Backend::Sqlite {
        return Err(
            "several instances share one PostgreSQL database: add `--database postgres`".into(),
        );
    }
    Ok((instances, backend))
}

/// Builds everything, starts the server on a fresh database, waits until it answers, says where to
/// go, then runs until the server stops (Ctrl-C stops both). With `args` naming PostgreSQL, see
/// [`instances`].
pub fn demo(args: &[String]) -> Result<(), String> {
    let (count, backend) = options(args)?;
    if backend == Backend::Postgres {
        return instances(count);
    }
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

/// The demo on PostgreSQL: a server of its own (see [`crate::postgres`]), the simulators process
/// seeding the shop into it, then `count` instances on consecutive ports from the demo's, each serving
/// the widget's page; until Ctrl-C or until one of them stops.
fn instances(count: usize) -> Result<(), String> {
    crate::build::build()?;
    build_server()?;
    let first = port()?;
    let simulators_port = u16::try_from(usize::from(first) + count)
        .map_err(|_| format!("no ports from {first} for {count} instances and the simulators"))?;
    let postgres = crate::postgres::Postgres::start()?;
    let database = postgres.url();
    let keys = format!("demo:{}", base64_key()?);
    let shopify_secret = random_hex(32)?;
    let tts_secret = random_hex(32)?;
    let secrets = [
        ("PREFLIGHT_TOKEN_KEYS", keys.as_str()),
        ("PREFLIGHT_SHOPIFY_APP_KEY", "preflight-demo"),
        ("PREFLIGHT_SHOPIFY_APP_SECRET", shopify_secret.as_str()),
        ("PREFLIGHT_TTS_APP_KEY", "demo"),
        ("PREFLIGHT_TTS_APP_SECRET", tts_secret.as_str()),
        ("PREFLIGHT_DATABASE", database.as_str()),
    ];
    let debug = target_dir().join("debug");
    let simulators_url = format!("http://127.0.0.1:{simulators_port}");
    let mut children = Vec::new();
    let mut simulators = Command::new(debug.join("preflight-simulators"));
    simulators
        .current_dir(root())
        .envs(secrets)
        .arg("--demo")
        .args(["--listen", &format!("127.0.0.1:{simulators_port}")])
        .args(["--app-url", &format!("http://127.0.0.1:{first}")]);
    eprintln!("xtask: $ PREFLIGHT_DATABASE={database} preflight-simulators --demo --listen 127.0.0.1:{simulators_port} (seeding the demo shop)");
    children.push(
        simulators
            .spawn()
            .map_err(|e| format!("cannot start preflight-simulators: {e}"))?,
    );
    let started = (|| {
        if let Some(child) = children.last_mut() {
            wait_until_healthy(child, simulators_port, START_TIMEOUT)?;
        }
        for i in 0..count {
            let port = first + u16::try_from(i).map_err(|_| "too many instances")?;
            let mut instance = Command::new(debug.join("preflight-server"));
            instance
                .current_dir(root())
                .envs(secrets)
                .arg("--demo")
                .args(["--listen", &format!("127.0.0.1:{port}")])
                .args(["--simulators", &simulators_url])
                .arg("--www")
                .arg(root().join("www"))
                .arg("--pkg")
                .arg(root().join("pkg"));
            eprintln!("xtask: $ PREFLIGHT_DATABASE={database} preflight-server --demo --listen 127.0.0.1:{port} --simulators {simulators_url} …");
            children.push(
                instance
                    .spawn()
                    .map_err(|e| format!("cannot start preflight-server: {e}"))?,
            );
            if let Some(child) = children.last_mut() {
                wait_until_healthy(child, port, START_TIMEOUT)?;
            }
        }
        Ok::<_, String>(())
    })();
    if let Err(message) = started {
        stop(&mut children);
        return Err(message);
    }
    print_instances(first, count, &simulators_url);
    // Ctrl-C reaches the processes too; this process lives on to stop PostgreSQL, which runs in a
    // process group of its own.
    let interrupted = Arc::new(AtomicBool::new(false));
    {
        let interrupted = interrupted.clone();
        ctrlc::set_handler(move || interrupted.store(true, Ordering::SeqCst))
            .map_err(|e| format!("cannot watch for Ctrl-C: {e}"))?;
    }
    // An instance that stops leaves the others serving; the demo ends with Ctrl-C, or when the
    // simulators or every instance stopped.
    let mut running = vec![true; children.len()];
    let outcome = loop {
        if interrupted.load(Ordering::SeqCst) {
            break Ok(());
        }
        for (i, child) in children.iter_mut().enumerate() {
            let Some(true) = running.get(i).copied() else {
                continue;
            };
            if let Ok(Some(status)) = child.try_wait() {
                if let Some(slot) = running.get_mut(i) {
                    *slot = false;
                }
                if i == 0 {
                    eprintln!("xtask: the simulators stopped ({status})");
                } else {
                    let port = usize::from(first) + i - 1;
                    eprintln!("xtask: the instance on port {port} stopped ({status}); the others carry on");
                }
            }
        }
        if running.first() == Some(&false) {
            break Err("the simulators stopped".to_owned());
        }
        if running.iter().skip(1).all(|r| !r) {
            break Err("every instance stopped".to_owned());
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    stop(&mut children);
    drop(postgres);
    outcome
}

fn stop(children: &mut [Child]) {
    for child in children.iter_mut().rev() {
        let _ = child.kill();
        let _ = child.wait();
    }
}

/// 32 random bytes in standard base64: a token key.
fn base64_key() -> Result<String, String> {
    use base64::Engine as _;
    Ok(base64::engine::general_purpose::STANDARD.encode(random_bytes(32)?))
}

fn print_instances(first: u16, count: usize, simulators: &str) {
    let urls: Vec<String> = (0..count)
        .map(|i| format!("http://127.0.0.1:{}/", usize::from(first) + i))
        .collect();
    println!(
        "
  ────────────────────────────────────────────────────────────────────────
    Fulfillment Preflight demo, {count} instances on one PostgreSQL:
      {}
  ────────────────────────────────────────────────────────────────────────
    The same demo shop of 40 fulfillments behind each address; TikTok Shop
    and Shopify simulated at {simulators}, shared by all.
    • Open two addresses side by side: a fix or a sync in one shows in the
      other within seconds.
    • Sync one fulfillment from both at once: it is pushed once.
    • The simulators send their webhooks to the first instance, as a load
      balancer would to any one of them.
    • Kill an instance (kill -9): the others carry on, syncs included.
    Ctrl-C stops them all and the database. Each run starts on a fresh
    database in target/postgres/.
",
        urls.join("\n      ")
    );
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

/// `bytes` random bytes as hex.
fn random_hex(bytes: usize) -> Result<String, String> {
    Ok(random_bytes(bytes)?
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect())
}

/// `bytes` random bytes, from the system's random source (std's hashing keys without one).
fn random_bytes(bytes: usize) -> Result<Vec<u8>, String> {
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
    Ok(buffer)
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
