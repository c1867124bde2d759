//! What a client may make us buffer, and which bytes we accept, checked on the raw byte stream
//! before pgwire decodes it.
//!
//! pgwire's codec buffers a message up to its declared length (1 GB for Query, Parse and Bind,
//! in any connection state) before it looks at it, and reads strings with
//! `String::from_utf8_lossy`, so invalid UTF-8 silently becomes U+FFFD. [`Inbound`] wraps the
//! connection's byte stream and watches every byte as it is read, message by message:
//!
//! - **Lengths.** Before login a message may declare at most [`PRE_AUTH_MAX`] bytes, as in
//!   PostgreSQL; after login at most [`InboundLimits::max_message`]. A message over its limit
//!   ends the connection with FATAL 08P01 *before* its body is read.
//! - **All connections together.** A message larger than [`RESERVE_ABOVE`] reserves its declared
//!   length from one server-wide [`InputBudget`] until its last byte has arrived; when the
//!   budget is spent the connection ends with FATAL 53200 instead of the server growing.
//! - **Encoding.** The strings of Query, Parse, Bind, Describe, Close, Execute and CopyFail are
//!   checked as UTF-8 as they stream past (no copy); a message that fails is answered with
//!   22021 in place of being run, as PostgreSQL does.
//! - **Startup layout.** The startup packet's parameter list must be NUL-terminated pairs
//!   ending with an empty name, else FATAL 08P01 (PostgreSQL: "invalid startup packet
//!   layout").
//!
//! The scanner never changes the bytes; it records verdicts that the connection loop
//! ([`crate::socket`]) acts on when pgwire hands it the message they belong to: messages after
//! the startup packet are numbered in order on both sides.
//!
//! Files: [`scanner`] follows the messages and keeps the verdicts; [`utf8`] checks strings as
//! they stream past; this file holds the limits, the budget and the [`Inbound`] wrapper.

mod scanner;
#[cfg(test)]
mod tests;
mod utf8;

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll, ready};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

pub use scanner::{Refused, Scanner, Verdict};
pub(crate) use utf8::invalid_sequence;

/// The largest message a client may send before it has logged in (PostgreSQL's
/// `PQ_SMALL_MESSAGE_LIMIT`).
pub const PRE_AUTH_MAX: usize = 10_000;

/// Messages declaring more than this many bytes reserve them from the [`InputBudget`].
pub const RESERVE_ABOVE: usize = 64 * 1024;

/// Startup-phase request codes that are not a startup packet.
const CANCEL_REQUEST: u32 = 80_877_102;
const SSL_REQUEST: u32 = 80_877_103;
const GSSENC_REQUEST: u32 = 80_877_104;

/// The bytes all connections together may hold in messages still arriving.
#[derive(Debug)]
pub struct InputBudget {
    total: usize,
    used: AtomicUsize,
}

impl InputBudget {
    /// A budget of `total` bytes.
    pub fn new(total: usize) -> Arc<InputBudget> {
        Arc::new(InputBudget {
            total,
            used: AtomicUsize::new(0),
        })
    }

    /// Bytes reserved now.
    pub fn used(&self) -> usize {
        self.used.load(Ordering::Relaxed)
    }

    fn reserve(self: &Arc<Self>, bytes: usize) -> Option<Reservation> {
        self.used
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |v| {
                v.checked_add(bytes).filter(|sum| *sum <= self.total)
            })
            .ok()
            .map(|_| Reservation {
                budget: Arc::clone(self),
                bytes,
            })
    }
}

/// Bytes held from the [`InputBudget`]; given back when dropped.
#[derive(Debug)]
struct Reservation {
    budget: Arc<InputBudget>,
    bytes: usize,
}

impl Drop for Reservation {
    fn drop(&mut self) {
        self.budget.used.fetch_sub(self.bytes, Ordering::AcqRel);
    }
}

/// The limits one connection's input is held to.
#[derive(Debug, Clone)]
pub struct InboundLimits {
    /// The largest message (its declared length) after login.
    pub max_message: usize,
    /// The server-wide budget for large messages in flight.
    pub budget: Arc<InputBudget>,
}

impl Default for InboundLimits {
    fn default() -> Self {
        InboundLimits {
            max_message: 64 * 1024 * 1024,
            budget: InputBudget::new(256 * 1024 * 1024),
        }
    }
}

/// A connection's byte stream with a [`Scanner`] watching what is read.
#[derive(Debug)]
pub struct Inbound<IO> {
    inner: IO,
    scanner: Scanner,
}

impl<IO> Inbound<IO> {
    /// Wraps `inner`; `already_read` are bytes read from it before (during TLS negotiation).
    pub fn new(inner: IO, limits: InboundLimits, already_read: &[u8]) -> Inbound<IO> {
        let mut scanner = Scanner::new(limits);
        let _ = scanner.observe(already_read);
        Inbound { inner, scanner }
    }

    /// The scanner, for the connection loop's verdicts.
    pub fn scanner(&mut self) -> &mut Scanner {
        &mut self.scanner
    }
}

impl<IO: AsyncRead + Unpin> AsyncRead for Inbound<IO> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if self.scanner.fatal.is_some() {
            return Poll::Ready(Err(refused()));
        }
        let before = buf.filled().len();
        ready!(Pin::new(&mut self.inner).poll_read(cx, buf))?;
        let this = &mut *self;
        match this.scanner.observe(&buf.filled()[before..]) {
            Ok(()) => Poll::Ready(Ok(())),
            Err(Refused) => {
                // Hide the bytes from the decoder: the connection ends on the scanner's error.
                buf.set_filled(before);
                Poll::Ready(Err(refused()))
            }
        }
    }
}

fn refused() -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, "input refused")
}

impl<IO: AsyncWrite + Unpin> AsyncWrite for Inbound<IO> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
