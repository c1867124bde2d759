//! Writes that wait for the connection loop's flush, so one round trip costs one `send`.
//!
//! pgwire flushes after each response message it sends. In the extended protocol that means a
//! `send` system call, and a wake-up of the client, for each of ParseComplete, BindComplete,
//! the rows, CommandComplete and ReadyForQuery. PostgreSQL instead buffers its output until it
//! has no more input to work on. [`DeferredFlush`] does the same: writes go to a buffer, and
//! a flush does nothing. The connection loop calls [`DeferredFlush::flush_now`] before it waits
//! for input, and a buffer past [`HIGH_WATER`] is written out at once, so large results still
//! stream (a write of [`HIGH_WATER`] bytes or more, with nothing held, goes to the socket
//! directly).

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, ReadBuf};

/// Buffered output past this many bytes is written without waiting for the loop.
pub const HIGH_WATER: usize = 64 * 1024;

/// An I/O stream whose writes are held until [`flush_now`](Self::flush_now) or until
/// [`HIGH_WATER`] bytes are waiting.
#[derive(Debug)]
pub struct DeferredFlush<IO> {
    inner: IO,
    out: Vec<u8>,
    /// Bytes of `out` already written.
    written: usize,
}

impl<IO: AsyncWrite + Unpin> DeferredFlush<IO> {
    /// Wraps `inner`.
    pub fn new(inner: IO) -> DeferredFlush<IO> {
        DeferredFlush {
            inner,
            out: Vec::with_capacity(8 * 1024),
            written: 0,
        }
    }

    /// The wrapped stream.
    pub fn get_mut(&mut self) -> &mut IO {
        &mut self.inner
    }

    /// Writes everything buffered and flushes the inner stream.
    pub async fn flush_now(&mut self) -> io::Result<()> {
        std::future::poll_fn(|cx| self.poll_drain(cx)).await?;
        self.inner.flush().await
    }

    /// Writes the buffer out to `inner`.
    fn poll_drain(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while self.written < self.out.len() {
            let n = ready!(Pin::new(&mut self.inner).poll_write(cx, &self.out[self.written..]))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            self.written += n;
        }
        self.out.clear();
        self.written = 0;
        Poll::Ready(Ok(()))
    }
}

impl<IO: AsyncRead + Unpin> AsyncRead for DeferredFlush<IO> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<IO: AsyncWrite + Unpin> AsyncWrite for DeferredFlush<IO> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        if self.out.len() >= HIGH_WATER {
            ready!(self.poll_drain(cx))?;
        }
        if self.out.is_empty() && buf.len() >= HIGH_WATER {
            // A large write (a result streaming out) would be sent at once anyway: it goes
            // to the socket without a copy in `out`. Nothing is held, so order is kept.
            return Pin::new(&mut self.inner).poll_write(cx, buf);
        }
        self.out.extend_from_slice(buf);
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        // Held until the connection loop has no more input to work on.
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.poll_drain(cx))?;
        ready!(Pin::new(&mut self.inner).poll_flush(cx))?;
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncReadExt;

    #[tokio::test]
    async fn output_waits_for_flush_now_or_the_high_water_mark() {
        let (client, server) = tokio::io::duplex(1 << 20);
        let mut deferred = DeferredFlush::new(server);
        let mut client = client;
        deferred.write_all(b"hello").await.expect("write");
        deferred.flush().await.expect("flush is deferred");
        let mut buf = [0u8; 5];
        let early = tokio::time::timeout(
            std::time::Duration::from_millis(50),
            client.read_exact(&mut buf),
        )
        .await;
        assert!(early.is_err(), "nothing is sent before flush_now");
        deferred.flush_now().await.expect("flush_now");
        client.read_exact(&mut buf).await.expect("read");
        assert_eq!(&buf, b"hello");
        // Past the high-water mark, output goes out without flush_now.
        let big = vec![7u8; HIGH_WATER + 10];
        deferred.write_all(&big).await.expect("write big");
        deferred.write_all(b"!").await.expect("write one more");
        let mut got = vec![0u8; HIGH_WATER];
        client.read_exact(&mut got).await.expect("streamed");
        assert!(got.iter().all(|b| *b == 7));
    }

    #[tokio::test]
    async fn a_large_write_keeps_its_place_after_held_output() {
        let (mut client, server) = tokio::io::duplex(1 << 20);
        let mut deferred = DeferredFlush::new(server);
        // Held bytes first: the large write must not overtake them.
        deferred.write_all(b"ab").await.expect("write");
        let big: Vec<u8> = (0..HIGH_WATER * 2).map(|i| (i % 251) as u8).collect();
        deferred.write_all(&big).await.expect("write big");
        // Nothing held now: the next large write goes straight out, the small one waits.
        deferred.write_all(&big).await.expect("write big again");
        deferred.write_all(b"z").await.expect("write small");
        deferred.flush_now().await.expect("flush_now");
        let mut got = vec![0u8; 2 + big.len() * 2 + 1];
        client.read_exact(&mut got).await.expect("read all");
        let mut want = b"ab".to_vec();
        want.extend_from_slice(&big);
        want.extend_from_slice(&big);
        want.push(b'z');
        assert!(got == want, "bytes arrive in the order written");
    }
}
