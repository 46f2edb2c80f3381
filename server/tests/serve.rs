//! The server's connection limits, on raw TCP over loopback: a client slower than the header-read
//! timeout is disconnected, an idle keep-alive connection is closed after as long, a connection past
//! the limit waits until another closes, and shutdown stops accepting.

#![expect(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    reason = "a test: a failure panics with what it found"
)]

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use preflight_server::api::{self, AppState};
use preflight_server::auth::AppCredentials;
use preflight_server::store::SqliteStore;
use preflight_server::tts::simulator::Simulator;
use preflight_server::ServeConfig;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Long enough for anything that should happen to happen on a loaded machine.
const PATIENCE: Duration = Duration::from_secs(20);

/// How long a request that must not be answered is watched.
const WATCH: Duration = Duration::from_millis(500);

const HEALTH: &[u8] = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";

struct Server {
    addr: SocketAddr,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
    _dir: tempfile::TempDir,
}

async fn start(
    config: ServeConfig,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Server {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SqliteStore::open(dir.path().join("serve.sqlite3")).unwrap());
    let app = AppCredentials {
        key: "app-key".into(),
        secret: "app-secret".into(),
        previous_secret: None,
    };
    let state = Arc::new(AppState::new(
        store,
        Arc::new(Simulator::new("k", "s")),
        app,
        Vec::new(),
    ));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let task = tokio::spawn(preflight_server::serve(
        listener,
        api::router(state),
        config,
        shutdown,
    ));
    Server {
        addr,
        task,
        _dir: dir,
    }
}

/// Reads until the peer closes (or resets) the connection; answers what it sent before.
async fn read_until_closed(stream: &mut (impl AsyncReadExt + Unpin)) -> Vec<u8> {
    let mut received = Vec::new();
    let mut buf = [0_u8; 1024];
    loop {
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => return received,
            Ok(n) => received.extend_from_slice(&buf[..n]),
        }
    }
}

/// Reads until `received` holds a whole `/healthz` answer.
async fn read_health(stream: &mut TcpStream) -> String {
    let mut received = Vec::new();
    let mut buf = [0_u8; 1024];
    while !String::from_utf8_lossy(&received).contains(r#"{"ok":true}"#) {
        let n = stream.read(&mut buf).await.unwrap();
        assert!(n > 0, "closed before the answer: {received:?}");
        received.extend_from_slice(&buf[..n]);
    }
    String::from_utf8(received).unwrap()
}

fn limits(header_read_timeout: Duration, max_connections: usize) -> ServeConfig {
    ServeConfig {
        header_read_timeout,
        max_connections,
    }
}

#[tokio::test]
async fn a_client_sending_headers_slowly_is_disconnected_at_the_header_timeout() {
    let s = start(limits(Duration::from_secs(1), 16), std::future::pending()).await;
    let stream = TcpStream::connect(s.addr).await.unwrap();
    let (mut reader, mut writer) = stream.into_split();
    // One header line every 200 ms: 60 lines would take 12 s.
    const LINES: usize = 60;
    let sent = Arc::new(AtomicUsize::new(0));
    let counter = sent.clone();
    let slow = tokio::spawn(async move {
        writer
            .write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")
            .await?;
        for i in 0..LINES {
            tokio::time::sleep(Duration::from_millis(200)).await;
            writer
                .write_all(format!("X-Slow-{i}: {i}\r\n").as_bytes())
                .await?;
            counter.fetch_add(1, Ordering::SeqCst);
        }
        writer.write_all(b"\r\n").await
    });
    let answer = tokio::time::timeout(PATIENCE, read_until_closed(&mut reader))
        .await
        .expect("the server closes the connection");
    let lines = sent.load(Ordering::SeqCst);
    assert!(
        lines < LINES,
        "the connection outlived the client's {lines} header lines"
    );
    let answer = String::from_utf8_lossy(&answer);
    assert!(
        answer.is_empty() || answer.starts_with("HTTP/1.1 408"),
        "{answer}"
    );
    slow.abort();
}

#[tokio::test]
async fn an_idle_keep_alive_connection_is_closed_at_the_header_timeout() {
    let s = start(limits(Duration::from_secs(1), 16), std::future::pending()).await;
    let mut stream = TcpStream::connect(s.addr).await.unwrap();
    stream.write_all(HEALTH).await.unwrap();
    let answer = read_health(&mut stream).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(!answer.to_ascii_lowercase().contains("connection: close"));
    stream.write_all(HEALTH).await.unwrap();
    let answer = read_health(&mut stream).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "kept alive: {answer}");
    // Kept alive, then idle: closed once the next request's headers are overdue.
    let rest = tokio::time::timeout(PATIENCE, read_until_closed(&mut stream))
        .await
        .expect("the server closes the idle connection");
    assert!(rest.is_empty(), "{}", String::from_utf8_lossy(&rest));
}

#[tokio::test]
async fn past_the_connection_limit_a_client_waits_until_one_closes() {
    let s = start(limits(Duration::from_secs(60), 2), std::future::pending()).await;
    let first = TcpStream::connect(s.addr).await.unwrap();
    let mut second = TcpStream::connect(s.addr).await.unwrap();
    let mut third = TcpStream::connect(s.addr).await.unwrap();
    third.write_all(HEALTH).await.unwrap();
    let mut buf = [0_u8; 64];
    assert!(
        tokio::time::timeout(WATCH, third.read(&mut buf))
            .await
            .is_err(),
        "a third connection was served past the limit of 2"
    );
    // The two open ones are served meanwhile.
    second.write_all(HEALTH).await.unwrap();
    let answer = tokio::time::timeout(PATIENCE, read_health(&mut second))
        .await
        .unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");

    drop(first);
    let answer = tokio::time::timeout(PATIENCE, read_health(&mut third))
        .await
        .expect("the third connection is served once the first closes");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
}

#[tokio::test]
async fn shutdown_stops_accepting_and_returns() {
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let s = start(limits(Duration::from_secs(60), 16), async {
        let _ = stopped.await;
    })
    .await;
    let mut idle = TcpStream::connect(s.addr).await.unwrap();
    idle.write_all(HEALTH).await.unwrap();
    read_health(&mut idle).await;

    stop.send(()).unwrap();
    let served = tokio::time::timeout(PATIENCE, s.task)
        .await
        .expect("serve returns once its idle connections are closed")
        .unwrap();
    assert!(served.is_ok());
    assert!(
        read_until_closed(&mut idle).await.is_empty(),
        "the idle connection is closed"
    );
    let refused = TcpStream::connect(s.addr).await;
    assert!(refused.is_err(), "the listener is closed");
}

#[tokio::test]
async fn a_limit_of_no_connection_is_refused() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let served = preflight_server::serve(
        listener,
        axum::Router::new(),
        limits(Duration::from_secs(1), 0),
        std::future::pending(),
    )
    .await;
    assert_eq!(served.unwrap_err().kind(), std::io::ErrorKind::InvalidInput);
}
