//! The scanner: follows the message boundaries of a connection's input and records a verdict
//! for each message that breaks a rule (see the module above).

use std::collections::VecDeque;

use super::utf8::{Field, Utf8Stream, fields_of, hex_bytes, invalid_sequence};
use super::{
    CANCEL_REQUEST, GSSENC_REQUEST, InboundLimits, PRE_AUTH_MAX, RESERVE_ABOVE, Reservation,
    SSL_REQUEST,
};
use crate::error::WireError;

/// Where the scanner stands in the current message.
#[derive(Debug)]
enum Position {
    /// Reading the header: `need` bytes (1 + 4 for a typed message, 4 for a startup-phase one),
    /// `len` of them in `got` so far (in place: a header is read for every message).
    Header { got: [u8; 5], len: usize },
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

impl Position {
    /// At the start of a header.
    fn header() -> Position {
        Position::Header {
            got: [0; 5],
            len: 0,
        }
    }
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
    pub(super) fatal: Option<WireError>,
}

impl Scanner {
    /// A scanner at the start of a connection.
    pub fn new(limits: InboundLimits) -> Scanner {
        Scanner {
            limits,
            logged_in: false,
            typed: false,
            position: Position::header(),
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
            Position::Header { got, len } => {
                let need = if self.typed { 5 } else { 4 };
                let take = bytes.len().min(need - *len);
                got[*len..*len + take].copy_from_slice(&bytes[..take]);
                *len += take;
                if *len == need {
                    let header = *got;
                    self.position = self.start_message(&header[..need])?;
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
                    self.position = Position::header();
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
                    self.position = Position::header();
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
                return Ok(Position::header());
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
            return Ok(Position::header());
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
