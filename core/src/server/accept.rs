//! The accept loop behind [`App::serve_on`](super::App::serve_on): hyper's HTTP/1 connections
//! over the router, with the slow-client limits of [`ServerConfig`] that `axum::serve` lacks.
//!
//! - **connections**: a semaphore of `max_connections` permits; the loop takes a permit before
//!   it accepts, so connections past the cap wait in the listen backlog, and each finished
//!   connection lets the next one in;
//! - **head and idle**: each connection has a watchdog over one atomic word, its phase and
//!   when it began. A connection opens in the *head* phase (`header_timeout` to deliver a whole
//!   request head); a request being answered is *busy* (no limit here: the body timeout and the
//!   execute budget bound it); after the answer it is *idle* (`idle_timeout` without a byte in
//!   either direction), and its next byte starts a new *head* phase. A connection past its
//!   phase's limit is dropped; a busy one never is;
//! - **body**: read by the pipeline under `body_timeout` (`408` and the connection closed);
//! - **shutdown**: the loop stops accepting, each connection finishes its request in flight
//!   (hyper's graceful shutdown) and the loop returns once every permit is back.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tower_service::Service as _;

use super::ServerConfig;

/// The most connections a server counts permits for (the semaphore takes a `u32` at shutdown).
const MAX_CONNECTIONS: usize = 1 << 20;

/// The limits the loop applies, copied out of [`ServerConfig`].
#[derive(Clone, Copy, Debug)]
pub(super) struct Limits {
    header: Duration,
    idle: Duration,
    connections: usize,
}

impl Limits {
    pub(super) fn of(config: &ServerConfig) -> Self {
        Limits {
            header: config.header_timeout,
            idle: config.idle_timeout,
            connections: config.max_connections.clamp(1, MAX_CONNECTIONS),
        }
    }
}

/// Serves `router` on `listener` until `shutdown` completes, then lets every connection finish
/// its request in flight.
pub(super) async fn serve(
    listener: TcpListener,
    router: Router,
    limits: Limits,
    shutdown: impl Future<Output = ()>,
) -> io::Result<()> {
    let permits = Arc::new(Semaphore::new(limits.connections));
    let stop = CancellationToken::new();
    tokio::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            () = &mut shutdown => break,
            permit = permits.clone().acquire_owned() => permit.expect("the semaphore is never closed"),
        };
        let stream = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) if is_connection_error(&e) => continue,
                Err(e) => {
                    // Out of file descriptors and the like: wait rather than spin.
                    tracing::error!(error = %e, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    continue;
                }
            },
        };
        tokio::spawn(connection(
            stream,
            router.clone(),
            limits,
            stop.clone(),
            permit,
        ));
    }
    drop(listener);
    stop.cancel();
    let all = u32::try_from(limits.connections).unwrap_or(u32::MAX);
    let _ = permits.acquire_many(all).await;
    Ok(())
}

/// Errors of one connection that say nothing about the listener.
fn is_connection_error(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    )
}

/// Serves one connection until it ends, its watchdog fires, or shutdown has let its request in
/// flight finish. Holds its permit until then.
async fn connection(
    stream: TcpStream,
    router: Router,
    limits: Limits,
    stop: CancellationToken,
    _permit: OwnedSemaphorePermit,
) {
    let _ = stream.set_nodelay(true);
    let clock = Arc::new(Clock::new());
    let io = TokioIo::new(Watched {
        inner: stream,
        clock: clock.clone(),
    });
    let service = {
        let clock = clock.clone();
        hyper::service::service_fn(move |request: hyper::Request<Incoming>| {
            let busy = Busy::begin(clock.clone());
            let answer = router.clone().call(request.map(Body::new));
            async move {
                let answer = answer.await;
                drop(busy);
                answer
            }
        })
    };
    let mut builder = hyper::server::conn::http1::Builder::new();
    // The watchdog times heads; hyper's own head timer would also cut idle connections short.
    builder.header_read_timeout(None);
    let conn = builder.serve_connection(io, service);
    tokio::pin!(conn);
    let mut stopping = false;
    loop {
        tokio::select! {
            _ = conn.as_mut() => break,
            () = stop.cancelled(), if !stopping => {
                stopping = true;
                conn.as_mut().graceful_shutdown();
            }
            phase = clock.expired(limits) => {
                tracing::debug!(phase, "closing a connection past its time limit");
                break;
            }
        }
    }
}

/// A connection's phase and when it began, in one word: the phase in the top two bits, the
/// milliseconds since the connection opened below. A change of phase wakes the watchdog, whose
/// deadline may now be earlier.
#[derive(Debug)]
struct Clock {
    opened: Instant,
    state: AtomicU64,
    changed: Notify,
}

const HEAD: u64 = 0;
const BUSY: u64 = 1;
const IDLE: u64 = 2;
const PHASE_SHIFT: u32 = 62;
const SINCE_MASK: u64 = (1 << PHASE_SHIFT) - 1;

impl Clock {
    fn new() -> Self {
        Clock {
            opened: Instant::now(),
            state: AtomicU64::new(HEAD << PHASE_SHIFT),
            changed: Notify::new(),
        }
    }

    fn now(&self) -> u64 {
        u64::try_from(self.opened.elapsed().as_millis()).unwrap_or(SINCE_MASK) & SINCE_MASK
    }

    fn set(&self, phase: u64) {
        self.state
            .store(phase << PHASE_SHIFT | self.now(), Ordering::Relaxed);
        self.changed.notify_one();
    }

    /// A byte moved: an idle connection starts a head (read) or stays idle from now (write).
    fn activity(&self, read: bool) {
        let state = self.state.load(Ordering::Relaxed);
        if state >> PHASE_SHIFT == IDLE {
            let phase = if read { HEAD } else { IDLE };
            let swapped = self.state.compare_exchange(
                state,
                phase << PHASE_SHIFT | self.now(),
                Ordering::Relaxed,
                Ordering::Relaxed,
            );
            if read && swapped.is_ok() {
                self.changed.notify_one();
            }
        }
    }

    /// Completes, naming the phase, once the connection has spent longer than its phase allows
    /// without leaving it.
    async fn expired(&self, limits: Limits) -> &'static str {
        loop {
            let state = self.state.load(Ordering::Relaxed);
            let since = Duration::from_millis(state & SINCE_MASK);
            let (limit, name) = match state >> PHASE_SHIFT {
                HEAD => (limits.header, "head"),
                IDLE => (limits.idle, "idle"),
                _ => {
                    // Busy: no limit until the phase changes.
                    self.changed.notified().await;
                    continue;
                }
            };
            tokio::select! {
                () = tokio::time::sleep_until(self.opened + since + limit) => {
                    if self.state.load(Ordering::Relaxed) == state {
                        return name;
                    }
                }
                () = self.changed.notified() => {}
            }
        }
    }
}

/// A request being answered: the connection is busy until it is dropped.
struct Busy(Arc<Clock>);

impl Busy {
    fn begin(clock: Arc<Clock>) -> Self {
        clock.set(BUSY);
        Busy(clock)
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        self.0.set(IDLE);
    }
}

/// The connection's stream, telling its clock when bytes move.
struct Watched {
    inner: TcpStream,
    clock: Arc<Clock>,
}

impl AsyncRead for Watched {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if buf.filled().len() > before {
            self.clock.activity(true);
        }
        polled
    }
}

impl AsyncWrite for Watched {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write(cx, data);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.clock.activity(false);
        }
        polled
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write_vectored(cx, data);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.clock.activity(false);
        }
        polled
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
