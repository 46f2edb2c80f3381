//! Serving the router over TCP with hyper's HTTP/1.1 server: a header-read timeout that also closes
//! idle keep-alive connections, a cap on open connections, and graceful shutdown.
//!
//! HTTP/1.1 only: browsers speak HTTP/2 only over TLS, which a proxy in front of the server ends, and
//! hyper's protocol sniffing for cleartext HTTP/2 reads the first bytes with no timeout at all.

use std::future::Future;
use std::io;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

/// How long a client may take to send a request's headers, by default.
pub const DEFAULT_HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// How many connections are open at most, by default: under the usual limit of 1,024 open files
/// per process (each connection holds one, and the database, its WAL and TikTok Shop's client need
/// some), and, with bodies capped at 1 MiB, at most 512 MiB of request bodies held at once.
pub const DEFAULT_MAX_CONNECTIONS: usize = 512;

/// How long a failed `accept` (like `EMFILE`, out of file descriptors) waits before the next.
const ACCEPT_ERROR_PAUSE: Duration = Duration::from_secs(1);

/// The limits connections are served under.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ServeConfig {
    /// How long a client may take to send a request's headers, counted from when the connection is
    /// accepted, or from the end of the previous answer on a keep-alive connection; past it the
    /// connection is closed. So it also bounds how long an idle keep-alive connection stays open.
    pub header_read_timeout: Duration,
    /// How many connections are open at most. Past it, new connections wait in the listen backlog,
    /// unanswered, until one closes.
    pub max_connections: usize,
}

impl Default for ServeConfig {
    fn default() -> Self {
        Self {
            header_read_timeout: DEFAULT_HEADER_READ_TIMEOUT,
            max_connections: DEFAULT_MAX_CONNECTIONS,
        }
    }
}

/// Serves `router` on `listener` until `shutdown` completes, then stops accepting, lets each open
/// connection finish the request it is serving (idle ones close at once), and returns.
///
/// Each connection holds a permit of a semaphore of `config.max_connections`, taken before it is
/// accepted and given back when it closes. A failed `accept` is logged and, unless it concerned
/// only that connection, retried after a pause of one second.
///
/// # Errors
/// `io::ErrorKind::InvalidInput` when `config.max_connections` is 0 (nothing could be served).
pub async fn serve(
    listener: TcpListener,
    router: Router,
    config: ServeConfig,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), io::Error> {
    if config.max_connections == 0 {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "the connection limit is 0: nothing could be served",
        ));
    }
    let permits = Arc::new(Semaphore::new(config.max_connections));
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(config.header_read_timeout);
    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            permit = permits.clone().acquire_owned() => permit,
            () = &mut shutdown => break,
        };
        // The semaphore is never closed.
        let Ok(permit) = permit else { break };
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = &mut shutdown => break,
        };
        let stream = match accepted {
            Ok((stream, _)) => stream,
            Err(error) if is_connection_error(&error) => continue,
            Err(error) => {
                tracing::error!(%error, "accept failed");
                tokio::select! {
                    () = tokio::time::sleep(ACCEPT_ERROR_PAUSE) => continue,
                    () = &mut shutdown => break,
                }
            }
        };
        let connection = http.serve_connection(
            TokioIo::new(stream),
            TowerToHyperService::new(router.clone()),
        );
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::debug!(%error, "connection closed");
            }
            drop(permit);
        });
    }
    drop(listener);
    graceful.shutdown().await;
    Ok(())
}

/// Whether an `accept` error concerns only the connection being accepted.
fn is_connection_error(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    )
}
