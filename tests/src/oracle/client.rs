//! A client speaking the protocol by hand: what a driver sees (column names, type OIDs, text
//! values, SQLSTATEs) through the simple and the extended protocol, nothing decoded.

use std::fmt;
use std::time::Duration;

use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

use crate::frames::{self, Backend};

/// What one statement answered, as a client sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// Column names and type OIDs (empty for an error).
    pub columns: Vec<(String, u32)>,
    /// Rows as text (`None` is NULL).
    pub rows: Vec<Vec<Option<String>>>,
    /// SQLSTATE and message of an error.
    pub error: Option<(String, String)>,
}

/// A client speaking the protocol by hand, so nothing is decoded or converted on the way.
pub struct RawClient {
    sock: TcpStream,
}

impl fmt::Debug for RawClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RawClient")
    }
}

const WAIT: Duration = Duration::from_secs(60);

impl RawClient {
    /// Logs in to `port` as `user` on database `dbname` (trust authentication).
    pub async fn connect(port: u16, user: &str, dbname: &str) -> RawClient {
        let params = [
            "user",
            user,
            "database",
            dbname,
            "client_encoding",
            "UTF8",
            "DateStyle",
            "ISO, MDY",
        ];
        RawClient {
            sock: frames::login(port, &params, WAIT).await,
        }
    }

    /// Runs `sql` through the simple protocol.
    pub async fn simple(&mut self, sql: &str) -> Answer {
        self.sock
            .write_all(&frames::query(sql))
            .await
            .expect("send");
        let reply = frames::read_until_ready(&mut self.sock, WAIT).await;
        answer(&reply)
    }

    /// Runs `sql` through the extended protocol (unnamed statement and portal), with text
    /// parameters of unspecified type and text results.
    pub async fn extended(&mut self, sql: &str, params: &[Option<String>]) -> Answer {
        let mut bytes = frames::parse("", sql, &[]);
        let values: Vec<Option<&[u8]>> = params
            .iter()
            .map(|p| p.as_deref().map(str::as_bytes))
            .collect();
        bytes.extend(frames::bind("", &[], &values, &[]));
        bytes.extend(frames::describe(b'P', ""));
        bytes.extend(frames::execute(0));
        bytes.extend(frames::sync());
        self.sock.write_all(&bytes).await.expect("send");
        let reply = frames::read_until_ready(&mut self.sock, WAIT).await;
        answer(&reply)
    }
}

/// Folds backend messages into an [`Answer`]: the last row description, every data row, the
/// first error.
fn answer(reply: &[Backend]) -> Answer {
    assert!(
        reply.last().is_some_and(|m| m.kind == b'Z'),
        "no ReadyForQuery: {reply:?}"
    );
    let mut out = Answer {
        columns: Vec::new(),
        rows: Vec::new(),
        error: None,
    };
    for m in reply {
        match m.kind {
            b'T' => {
                out.columns = row_description(&m.body);
                out.rows.clear();
            }
            b'D' => out.rows.push(data_row(&m.body)),
            b'E' if out.error.is_none() => {
                out.error = Some((
                    m.sqlstate().unwrap_or_default(),
                    m.field(b'M').unwrap_or_default(),
                ));
            }
            _ => {}
        }
    }
    if out.error.is_some() {
        out.columns.clear();
        out.rows.clear();
    }
    out
}

fn be_i16(b: &[u8], at: usize) -> i16 {
    i16::from_be_bytes([b[at], b[at + 1]])
}

fn be_i32(b: &[u8], at: usize) -> i32 {
    i32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

fn row_description(b: &[u8]) -> Vec<(String, u32)> {
    let n = be_i16(b, 0).max(0) as usize;
    let mut at = 2;
    let mut cols = Vec::new();
    for _ in 0..n {
        let end = at + b[at..].iter().position(|c| *c == 0).expect("name");
        let name = String::from_utf8_lossy(&b[at..end]).into_owned();
        at = end + 1;
        let oid = be_i32(b, at + 6) as u32;
        at += 18;
        cols.push((name, oid));
    }
    cols
}

fn data_row(b: &[u8]) -> Vec<Option<String>> {
    let n = be_i16(b, 0).max(0) as usize;
    let mut at = 2;
    let mut row = Vec::new();
    for _ in 0..n {
        let len = be_i32(b, at);
        at += 4;
        if len < 0 {
            row.push(None);
        } else {
            let len = len as usize;
            row.push(Some(String::from_utf8_lossy(&b[at..at + len]).into_owned()));
            at += len;
        }
    }
    row
}
