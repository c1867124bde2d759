//! UTF-8 checked across chunk boundaries, and which fields of each message are strings.

/// Which parts of a typed message are strings to check, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Field {
    /// Skip this many bytes.
    Skip(usize),
    /// A NUL-terminated string.
    Text,
}

pub(super) fn fields_of(kind: u8) -> &'static [Field] {
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
pub(super) struct Utf8Stream {
    /// The start of a character split by the chunk boundary (at most 3 bytes).
    tail: Vec<u8>,
}

impl Utf8Stream {
    /// Feeds `bytes`; the invalid sequence, if they hold one.
    pub(super) fn feed(&mut self, bytes: &[u8]) -> Result<(), Vec<u8>> {
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
    pub(super) fn finish(&mut self) -> Result<(), Vec<u8>> {
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
pub(super) fn hex_bytes(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|b| format!("0x{b:02x}"))
        .collect::<Vec<_>>()
        .join(" ")
}
