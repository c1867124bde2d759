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

use std::collections::VecDeque;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll, ready};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use crate::error::WireError;

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

/// Which parts of a typed message are strings to check, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    /// Skip this many bytes.
    Skip(usize),
    /// A NUL-terminated string.
    Text,
}

fn fields_of(kind: u8) -> &'static [Field] {
    match kind {
        // Query, CopyFail: the text. Execute: the portal name.
        b'Q' | b'f' | b'E' => &[Field::Text],
        // Parse: name and query. Bind: portal and statement names (text parameters are
        // checked when they are decoded, see `params`).
        b'P' | b'B' => &[Field::Text, Field::Text],
        // Describe, Close: a kind byte, then the name.
        b'D' | b'C' => &[Field::Skip(1), Field::Text],
        _ => &[],
    }
}

/// Checks UTF-8 across chunk boundaries.
#[derive(Debug, Default)]
struct Utf8Stream {
    /// The start of a character split by the chunk boundary (at most 3 bytes).
    tail: Vec<u8>,
}

impl Utf8Stream {
    /// Feeds `bytes`; the invalid sequence, if they hold one.
    fn feed(&mut self, bytes: &[u8]) -> Result<(), Vec<u8>> {
        let mut input = bytes;
        if !self.tail.is_empty() {
            // Complete the split character from the front of `bytes`, then go on in place.
            let needed = utf8_len(self.tail[0]).saturating_sub(self.tail.len());
            let take = bytes.len().min(needed);
            let mut joined = std::mem::take(&mut self.tail);
            joined.extend_from_slice(&bytes[..take]);
            match std::str::from_utf8(&joined) {
                Ok(_) => input = &bytes[take..],
                Err(e) => match e.error_len() {
                    Some(n) => {
                        let start = e.valid_up_to();
                        return Err(joined[start..start + n].to_vec());
                    }
                    None => {
                        // Still split: `bytes` ended before the character did.
                        self.tail = joined;
                        return Ok(());
                    }
                },
            }
        }
        match std::str::from_utf8(input) {
            Ok(_) => Ok(()),
            Err(e) => match e.error_len() {
                Some(n) => {
                    let start = e.valid_up_to();
                    Err(input[start..start + n].to_vec())
                }
                None => {
                    self.tail = input[e.valid_up_to()..].to_vec();
                    Ok(())
                }
            },
        }
    }

    /// The string ended; a character still split is invalid.
    fn finish(&mut self) -> Result<(), Vec<u8>> {
        if self.tail.is_empty() {
            Ok(())
        } else {
            Err(std::mem::take(&mut self.tail))
        }
    }
}

/// The length of the UTF-8 character a lead byte starts (1 for a byte that starts none).
fn utf8_len(lead: u8) -> usize {
    match lead {
        0xc0..=0xdf => 2,
        0xe0..=0xef => 3,
        0xf0..=0xf7 => 4,
        _ => 1,
    }
}

/// The invalid bytes `e` points at in `bytes`, as PostgreSQL prints them.
pub(crate) fn invalid_sequence(bytes: &[u8], e: std::str::Utf8Error) -> String {
    let start = e.valid_up_to();
    let n = e.error_len().unwrap_or(bytes.len() - start);
    hex_bytes(&bytes[start..start + n])
}

/// PostgreSQL's rendering of an invalid byte sequence: `0xc3 0x28`.
fn hex_bytes(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|b| format!("0x{b:02x}"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Where the scanner stands in the current message.
#[derive(Debug)]
enum Position {
    /// Reading the header: `need` bytes (1 + 4 for a typed message, 4 for a startup-phase one).
    Header { got: Vec<u8> },
    /// Reading a startup-phase body (at most [`PRE_AUTH_MAX`] bytes, kept whole).
    StartupBody { body: Vec<u8>, left: usize },
    /// Reading a typed body.
    Body {
        kind: u8,
        left: usize,
        field: usize,
        skip: usize,
        utf8: Utf8Stream,
        bad: Option<Vec<u8>>,
        _reservation: Option<Reservation>,
    },
}

/// The verdict on one message, for the connection loop.
#[derive(Debug)]
pub enum Verdict {
    /// The message is malformed beyond repair: end the connection with this FATAL error.
    Fatal(WireError),
    /// Answer this error in place of running the message, and go on.
    Refuse(WireError),
}

/// The scanner refused the input; [`Scanner::take_fatal`] says why.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refused;

/// Watches a connection's input (see the module docs).
#[derive(Debug)]
pub struct Scanner {
    limits: InboundLimits,
    /// Whether the peer has logged in (set by the connection when its session starts).
    logged_in: bool,
    /// Past the startup packet: messages are typed.
    typed: bool,
    position: Position,
    /// Typed messages whose last byte has arrived.
    completed: u64,
    /// Verdicts on typed messages, by their number (1 is the first after startup).
    verdicts: VecDeque<(u64, Verdict)>,
    /// A verdict on the startup packet.
    startup: Option<Verdict>,
    /// The stream cannot be read further.
    fatal: Option<WireError>,
}

impl Scanner {
    /// A scanner at the start of a connection.
    pub fn new(limits: InboundLimits) -> Scanner {
        Scanner {
            limits,
            logged_in: false,
            typed: false,
            position: Position::Header { got: Vec::new() },
            completed: 0,
            verdicts: VecDeque::new(),
            startup: None,
            fatal: None,
        }
    }

    /// The peer has logged in: the post-login message limit applies from the next header.
    pub fn logged_in(&mut self) {
        self.logged_in = true;
    }

    /// The error that made the stream unreadable, if any.
    pub fn take_fatal(&mut self) -> Option<WireError> {
        self.fatal.take()
    }

    /// The verdict on the startup packet, if any.
    pub fn take_startup_verdict(&mut self) -> Option<Verdict> {
        self.startup.take()
    }

    /// The verdict on typed message number `n`, if any.
    pub fn take_verdict(&mut self, n: u64) -> Option<Verdict> {
        while let Some((m, _)) = self.verdicts.front() {
            if *m < n {
                self.verdicts.pop_front();
            } else {
                break;
            }
        }
        match self.verdicts.front() {
            Some((m, _)) if *m == n => self.verdicts.pop_front().map(|(_, v)| v),
            _ => None,
        }
    }

    /// Observes `bytes` as read from the peer. An error means the stream must not be read
    /// further (the error is also kept for [`take_fatal`](Self::take_fatal)).
    pub fn observe(&mut self, mut bytes: &[u8]) -> Result<(), Refused> {
        if self.fatal.is_some() {
            return Err(Refused);
        }
        while !bytes.is_empty() {
            match self.step(bytes) {
                Ok(used) => bytes = &bytes[used..],
                Err(e) => {
                    self.fatal = Some(e);
                    return Err(Refused);
                }
            }
        }
        Ok(())
    }

    /// Consumes some of `bytes`; how many.
    fn step(&mut self, bytes: &[u8]) -> Result<usize, WireError> {
        match &mut self.position {
            Position::Header { got } => {
                let need = if self.typed { 5 } else { 4 };
                let take = bytes.len().min(need - got.len());
                got.extend_from_slice(&bytes[..take]);
                if got.len() == need {
                    let header = std::mem::take(got);
                    self.position = self.start_message(&header)?;
                }
                Ok(take)
            }
            Position::StartupBody { body, left } => {
                let take = bytes.len().min(*left);
                body.extend_from_slice(&bytes[..take]);
                *left -= take;
                if *left == 0 {
                    let body = std::mem::take(body);
                    self.finish_startup(&body);
                    self.position = Position::Header { got: Vec::new() };
                }
                Ok(take)
            }
            Position::Body {
                kind,
                left,
                field,
                skip,
                utf8,
                bad,
                ..
            } => {
                let take = bytes.len().min(*left);
                let mut chunk = &bytes[..take];
                let fields = fields_of(*kind);
                while !chunk.is_empty() && bad.is_none() && *field < fields.len() {
                    match fields[*field] {
                        Field::Skip(n) => {
                            let s = chunk.len().min(n - *skip);
                            *skip += s;
                            chunk = &chunk[s..];
                            if *skip == n {
                                *skip = 0;
                                *field += 1;
                            }
                        }
                        Field::Text => {
                            let end = chunk.iter().position(|b| *b == 0);
                            let part = &chunk[..end.unwrap_or(chunk.len())];
                            if let Err(seq) = utf8.feed(part) {
                                *bad = Some(seq);
                            } else if let Some(end) = end {
                                if let Err(seq) = utf8.finish() {
                                    *bad = Some(seq);
                                }
                                *field += 1;
                                chunk = &chunk[end + 1..];
                            } else {
                                chunk = &[];
                            }
                        }
                    }
                }
                *left -= take;
                if *left == 0 {
                    self.completed += 1;
                    if let Some(seq) = bad.take() {
                        self.verdicts.push_back((
                            self.completed,
                            Verdict::Refuse(WireError::BadEncoding(hex_bytes(&seq))),
                        ));
                    }
                    self.position = Position::Header { got: Vec::new() };
                }
                Ok(take)
            }
        }
    }

    /// A header is complete: check the declared length and start reading the body.
    fn start_message(&mut self, header: &[u8]) -> Result<Position, WireError> {
        let len_at = usize::from(self.typed);
        let declared = i32::from_be_bytes([
            header[len_at],
            header[len_at + 1],
            header[len_at + 2],
            header[len_at + 3],
        ]);
        let limit = if self.logged_in {
            self.limits.max_message
        } else {
            PRE_AUTH_MAX
        };
        let len =
            usize::try_from(declared)
                .ok()
                .filter(|l| *l >= 4)
                .ok_or(WireError::MessageLength {
                    declared: i64::from(declared),
                    limit,
                })?;
        if len > limit {
            return Err(WireError::MessageLength {
                declared: i64::from(declared),
                limit,
            });
        }
        let left = len - 4;
        if !self.typed {
            if left == 0 {
                self.finish_startup(&[]);
                return Ok(Position::Header { got: Vec::new() });
            }
            return Ok(Position::StartupBody {
                body: Vec::with_capacity(left.min(PRE_AUTH_MAX)),
                left,
            });
        }
        let reservation = if len > RESERVE_ABOVE {
            Some(
                self.limits
                    .budget
                    .reserve(len)
                    .ok_or(WireError::InputBudgetSpent { declared: len })?,
            )
        } else {
            None
        };
        let position = Position::Body {
            kind: header[0],
            left,
            field: 0,
            skip: 0,
            utf8: Utf8Stream::default(),
            bad: None,
            _reservation: reservation,
        };
        if left == 0 {
            self.completed += 1;
            return Ok(Position::Header { got: Vec::new() });
        }
        Ok(position)
    }

    /// A startup-phase packet is complete (its body after the length).
    fn finish_startup(&mut self, body: &[u8]) {
        let code = body
            .get(..4)
            .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]));
        match code {
            Some(CANCEL_REQUEST | SSL_REQUEST | GSSENC_REQUEST) => {}
            Some(version) if version >> 16 == 3 => {
                self.typed = true;
                self.startup = check_startup_parameters(&body[4..]).err();
            }
            // Anything else is pgwire's to refuse (an unsupported protocol version).
            _ => {}
        }
    }
}

/// Checks a startup packet's parameter list: NUL-terminated name/value pairs, then an empty
/// name as the last byte, every string UTF-8.
fn check_startup_parameters(mut rest: &[u8]) -> Result<(), Verdict> {
    let layout = || {
        Verdict::Fatal(WireError::StartupLayout(
            "invalid startup packet layout: expected terminator as last byte".to_owned(),
        ))
    };
    loop {
        let end = rest.iter().position(|b| *b == 0).ok_or_else(layout)?;
        let name = &rest[..end];
        rest = &rest[end + 1..];
        if name.is_empty() {
            return if rest.is_empty() {
                Ok(())
            } else {
                Err(layout())
            };
        }
        let end = rest.iter().position(|b| *b == 0).ok_or_else(layout)?;
        let value = &rest[..end];
        rest = &rest[end + 1..];
        for s in [name, value] {
            if let Err(e) = std::str::from_utf8(s) {
                return Err(Verdict::Fatal(WireError::BadStartupEncoding(
                    invalid_sequence(s, e),
                )));
            }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn typed(kind: u8, body: &[u8]) -> Vec<u8> {
        let mut m = vec![kind];
        m.extend_from_slice(&((body.len() + 4) as i32).to_be_bytes());
        m.extend_from_slice(body);
        m
    }

    fn startup(params: &[u8]) -> Vec<u8> {
        let mut body = 196_608i32.to_be_bytes().to_vec();
        body.extend_from_slice(params);
        let mut m = ((body.len() + 4) as i32).to_be_bytes().to_vec();
        m.extend(body);
        m
    }

    fn logged_in_scanner(limits: InboundLimits) -> Scanner {
        let mut s = Scanner::new(limits);
        s.observe(&startup(b"user\0u\0\0")).expect("startup");
        assert!(s.take_startup_verdict().is_none());
        s.logged_in();
        s
    }

    #[test]
    fn invalid_utf8_is_found_however_the_bytes_are_split() {
        let mut query = b"SELECT '".to_vec();
        query.extend_from_slice("é€😀".as_bytes());
        query.extend_from_slice(b"\xff'\0");
        let message = typed(b'Q', &query);
        for chunk in 1..=message.len() {
            let mut s = logged_in_scanner(InboundLimits::default());
            for part in message.chunks(chunk) {
                s.observe(part).expect("readable");
            }
            match s.take_verdict(1) {
                Some(Verdict::Refuse(WireError::BadEncoding(seq))) => assert_eq!(seq, "0xff"),
                other => panic!("chunk {chunk}: {other:?}"),
            }
        }
        // Valid multi-byte text split anywhere passes.
        let good = typed(b'Q', "SELECT 'é€😀 ok'\0".as_bytes());
        for chunk in 1..=good.len() {
            let mut s = logged_in_scanner(InboundLimits::default());
            for part in good.chunks(chunk) {
                s.observe(part).expect("readable");
            }
            assert!(s.take_verdict(1).is_none(), "chunk {chunk}");
        }
    }

    #[test]
    fn a_character_cut_by_its_nul_is_invalid() {
        let mut s = logged_in_scanner(InboundLimits::default());
        s.observe(&typed(b'P', b"s\xc3\0SELECT 1\0\0\0"))
            .expect("readable");
        assert!(matches!(
            s.take_verdict(1),
            Some(Verdict::Refuse(WireError::BadEncoding(_)))
        ));
    }

    #[test]
    fn binary_fields_are_not_read_as_text() {
        // A Parse whose parameter type oid holds bytes that are not UTF-8.
        let mut body = b"\0SELECT $1\0".to_vec();
        body.extend_from_slice(&1i16.to_be_bytes());
        body.extend_from_slice(&0x0000_00c8i32.to_be_bytes());
        let mut s = logged_in_scanner(InboundLimits::default());
        s.observe(&typed(b'P', &body)).expect("readable");
        s.observe(&typed(b'E', b"\0\xff\xff\xff\xff"))
            .expect("readable");
        assert!(s.take_verdict(1).is_none());
        assert!(s.take_verdict(2).is_none());
    }

    #[test]
    fn verdicts_are_numbered_by_message() {
        let mut s = logged_in_scanner(InboundLimits::default());
        let mut bytes = typed(b'Q', b"SELECT 1\0");
        bytes.extend(typed(b'D', b"S\xfe\0"));
        bytes.extend(typed(b'S', b""));
        bytes.extend(typed(b'C', b"Pok\0"));
        s.observe(&bytes).expect("readable");
        assert!(s.take_verdict(1).is_none());
        assert!(matches!(s.take_verdict(2), Some(Verdict::Refuse(_))));
        assert!(s.take_verdict(3).is_none());
        assert!(s.take_verdict(4).is_none());
    }

    #[test]
    fn lengths_are_capped_before_login_and_after() {
        let mut s = Scanner::new(InboundLimits::default());
        s.observe(&startup(b"user\0u\0\0")).expect("startup");
        // Before login: a Query declaring 20,000 bytes is refused from its header alone.
        assert!(s.observe(&[b'Q', 0, 0, 0x4e, 0x20]).is_err());
        assert!(matches!(
            s.take_fatal(),
            Some(WireError::MessageLength {
                declared: 20_000,
                ..
            })
        ));
        let limits = InboundLimits {
            max_message: 1_000_000,
            budget: InputBudget::new(10_000_000),
        };
        let mut s = logged_in_scanner(limits.clone());
        assert!(s.observe(&[b'Q', 0, 0x0f, 0x42, 0x40]).is_ok(), "1,000,000");
        let mut s = logged_in_scanner(limits.clone());
        assert!(
            s.observe(&[b'Q', 0, 0x0f, 0x42, 0x41]).is_err(),
            "1,000,001"
        );
        let mut s = logged_in_scanner(limits);
        assert!(
            s.observe(&[b'Q', 0xff, 0xff, 0xff, 0xff]).is_err(),
            "negative"
        );
        let mut s = logged_in_scanner(InboundLimits::default());
        assert!(
            s.observe(&[b'S', 0, 0, 0, 3]).is_err(),
            "shorter than itself"
        );
    }

    #[test]
    fn the_budget_is_shared_and_given_back() {
        let budget = InputBudget::new(300_000);
        let limits = InboundLimits {
            max_message: 1_000_000,
            budget: Arc::clone(&budget),
        };
        let header = |len: i32| {
            let mut h = vec![b'Q'];
            h.extend_from_slice(&len.to_be_bytes());
            h
        };
        let mut a = logged_in_scanner(limits.clone());
        let mut b = logged_in_scanner(limits.clone());
        a.observe(&header(200_000)).expect("within the budget");
        assert_eq!(budget.used(), 200_000);
        assert!(b.observe(&header(200_000)).is_err(), "budget spent");
        assert!(matches!(
            b.take_fatal(),
            Some(WireError::InputBudgetSpent { .. })
        ));
        // Small messages never touch the budget.
        let mut c = logged_in_scanner(limits);
        c.observe(&typed(b'Q', b"SELECT 1\0")).expect("small");
        // The rest of a's message arrives: its reservation is given back.
        let mut body = vec![b'x'; 200_000 - 5];
        body.push(0);
        a.observe(&body).expect("body");
        assert_eq!(budget.used(), 0);
        drop(b);
    }

    #[test]
    fn the_startup_packet_must_end_with_its_terminator() {
        for (params, ok) in [
            (&b"user\0u\0database\0d\0\0"[..], true),
            (b"user\0u\0database\0d\0", false),
            (b"user\0u", false),
            (b"user\0u\0extra\0\0", false),
            (b"user\0u\0\0trailing", false),
            (b"\0", true),
        ] {
            let mut s = Scanner::new(InboundLimits::default());
            s.observe(&startup(params)).expect("readable");
            let verdict = s.take_startup_verdict();
            assert_eq!(verdict.is_none(), ok, "{params:?}: {verdict:?}");
        }
        let mut s = Scanner::new(InboundLimits::default());
        s.observe(&startup(b"user\0\xc3\x28\0\0"))
            .expect("readable");
        assert!(matches!(
            s.take_startup_verdict(),
            Some(Verdict::Fatal(WireError::BadStartupEncoding(_)))
        ));
    }

    #[test]
    fn requests_before_startup_keep_the_untyped_phase() {
        let mut s = Scanner::new(InboundLimits::default());
        let mut ssl = 8i32.to_be_bytes().to_vec();
        ssl.extend_from_slice(&(SSL_REQUEST as i32).to_be_bytes());
        s.observe(&ssl).expect("ssl request");
        s.observe(&startup(b"user\0u\0\0")).expect("startup");
        s.logged_in();
        s.observe(&typed(b'Q', b"\xff\0")).expect("query");
        assert!(matches!(s.take_verdict(1), Some(Verdict::Refuse(_))));
    }
}
