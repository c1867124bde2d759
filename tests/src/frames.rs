//! Frontend protocol messages as raw bytes, for tests that send what no well-behaved client
//! would, and a reader for the SQLSTATEs that come back.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// A typed message: kind, length, body.
pub fn message(kind: u8, body: &[u8]) -> Vec<u8> {
    let mut m = vec![kind];
    m.extend_from_slice(&((body.len() + 4) as i32).to_be_bytes());
    m.extend_from_slice(body);
    m
}

/// A NUL-terminated string.
pub fn cstr(s: &str) -> Vec<u8> {
    let mut v = s.as_bytes().to_vec();
    v.push(0);
    v
}

/// A protocol 3.0 StartupMessage for user and database `stagesql`.
pub fn startup() -> Vec<u8> {
    let mut body = 196_608i32.to_be_bytes().to_vec();
    for s in [
        "user",
        "stagesql",
        "database",
        "stagesql",
        "application_name",
        "fuzz",
    ] {
        body.extend(cstr(s));
    }
    body.push(0);
    let mut m = ((body.len() + 4) as i32).to_be_bytes().to_vec();
    m.extend(body);
    m
}

/// A simple Query.
pub fn query(sql: &str) -> Vec<u8> {
    message(b'Q', &cstr(sql))
}

/// Parse with declared parameter type oids.
pub fn parse(name: &str, sql: &str, types: &[i32]) -> Vec<u8> {
    let mut b = cstr(name);
    b.extend(cstr(sql));
    b.extend_from_slice(&(types.len() as i16).to_be_bytes());
    for t in types {
        b.extend_from_slice(&t.to_be_bytes());
    }
    message(b'P', &b)
}

/// Bind of the unnamed portal.
pub fn bind(stmt: &str, formats: &[i16], params: &[Option<&[u8]>], results: &[i16]) -> Vec<u8> {
    bind_portal("", stmt, formats, params, results)
}

/// Bind of portal `portal`.
pub fn bind_portal(
    portal: &str,
    stmt: &str,
    formats: &[i16],
    params: &[Option<&[u8]>],
    results: &[i16],
) -> Vec<u8> {
    let mut b = cstr(portal);
    b.extend(cstr(stmt));
    b.extend_from_slice(&(formats.len() as i16).to_be_bytes());
    for f in formats {
        b.extend_from_slice(&f.to_be_bytes());
    }
    b.extend_from_slice(&(params.len() as i16).to_be_bytes());
    for p in params {
        match p {
            None => b.extend_from_slice(&(-1i32).to_be_bytes()),
            Some(v) => {
                b.extend_from_slice(&(v.len() as i32).to_be_bytes());
                b.extend_from_slice(v);
            }
        }
    }
    b.extend_from_slice(&(results.len() as i16).to_be_bytes());
    for r in results {
        b.extend_from_slice(&r.to_be_bytes());
    }
    message(b'B', &b)
}

/// Describe a statement (`S`) or portal (`P`).
pub fn describe(kind: u8, name: &str) -> Vec<u8> {
    let mut b = vec![kind];
    b.extend(cstr(name));
    message(b'D', &b)
}

/// Execute the unnamed portal.
pub fn execute(max_rows: i32) -> Vec<u8> {
    let mut b = cstr("");
    b.extend_from_slice(&max_rows.to_be_bytes());
    message(b'E', &b)
}

/// Sync.
pub fn sync() -> Vec<u8> {
    message(b'S', &[])
}

/// Reads backend messages until ReadyForQuery or close; returns the SQLSTATEs of the errors.
pub async fn error_codes(port: u16, bytes: Vec<u8>) -> Vec<String> {
    let mut sock = TcpStream::connect(("127.0.0.1", port))
        .await
        .expect("connect");
    sock.write_all(&bytes).await.expect("send");
    let mut data = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(2), sock.read_to_end(&mut data)).await;
    let mut codes = Vec::new();
    let mut i = 0;
    while i + 5 <= data.len() {
        let kind = data[i];
        let len = i32::from_be_bytes([data[i + 1], data[i + 2], data[i + 3], data[i + 4]]) as usize;
        let end = (i + 1 + len).min(data.len());
        if kind == b'E' {
            let body = &data[i + 5..end];
            for field in body.split(|b| *b == 0) {
                if let Some(code) = field.strip_prefix(b"C") {
                    codes.push(String::from_utf8_lossy(code).into_owned());
                }
            }
        }
        i = end;
    }
    codes
}

/// A startup packet (protocol 3.0) whose parameter list is exactly `params` (for packets that
/// break the layout).
pub fn startup_with(params: &[u8]) -> Vec<u8> {
    let mut body = 196_608i32.to_be_bytes().to_vec();
    body.extend_from_slice(params);
    let mut m = ((body.len() + 4) as i32).to_be_bytes().to_vec();
    m.extend(body);
    m
}

/// Execute of the named portal `portal`.
pub fn execute_portal(portal: &str, max_rows: i32) -> Vec<u8> {
    let mut b = cstr(portal);
    b.extend_from_slice(&max_rows.to_be_bytes());
    message(b'E', &b)
}

/// One backend message.
#[derive(Debug, Clone)]
pub struct Backend {
    /// The message type (`D` DataRow, `C` CommandComplete, `E` ErrorResponse, ...).
    pub kind: u8,
    /// The body after the length.
    pub body: Vec<u8>,
}

impl Backend {
    /// The SQLSTATE of an ErrorResponse.
    pub fn sqlstate(&self) -> Option<String> {
        self.field(b'C')
    }

    /// A field of an ErrorResponse or NoticeResponse (`S` severity, `M` message, `C` code).
    pub fn field(&self, code: u8) -> Option<String> {
        if self.kind != b'E' && self.kind != b'N' {
            return None;
        }
        self.body
            .split(|b| *b == 0)
            .find_map(|f| f.strip_prefix(&[code][..]))
            .map(|v| String::from_utf8_lossy(v).into_owned())
    }

    /// A CommandComplete's tag.
    pub fn tag(&self) -> Option<String> {
        (self.kind == b'C').then(|| {
            String::from_utf8_lossy(self.body.strip_suffix(&[0]).unwrap_or(&self.body)).into_owned()
        })
    }
}

/// Reads backend messages until ReadyForQuery (included), the close of the connection, or
/// `quiet` without any byte.
pub async fn read_until_ready(sock: &mut TcpStream, quiet: Duration) -> Vec<Backend> {
    let mut data: Vec<u8> = Vec::new();
    let mut out = Vec::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        // Take every whole message buffered.
        while data.len() >= 5 {
            let len = i32::from_be_bytes([data[1], data[2], data[3], data[4]]) as usize;
            if data.len() < 1 + len {
                break;
            }
            let kind = data[0];
            let body = data[5..1 + len].to_vec();
            data.drain(..1 + len);
            out.push(Backend { kind, body });
            if kind == b'Z' {
                return out;
            }
        }
        match tokio::time::timeout(quiet, sock.read(&mut buf)).await {
            Ok(Ok(n)) if n > 0 => data.extend_from_slice(&buf[..n]),
            _ => return out,
        }
    }
}

/// Connects to `port` and logs in with the startup parameters `params` (name, value, ...;
/// trust authentication), ready for queries.
pub async fn login(port: u16, params: &[&str], wait: Duration) -> TcpStream {
    let mut sock = TcpStream::connect(("127.0.0.1", port))
        .await
        .expect("connect");
    let mut bytes = Vec::new();
    for s in params {
        bytes.extend(cstr(s));
    }
    bytes.push(0);
    sock.write_all(&startup_with(&bytes))
        .await
        .expect("startup");
    let reply = read_until_ready(&mut sock, wait).await;
    assert!(
        reply.last().is_some_and(|m| m.kind == b'Z'),
        "no ReadyForQuery after startup on {port}: {reply:?}"
    );
    sock
}

/// Connects to `port` and logs in as `stagesql` (trust), ready for queries.
pub async fn logged_in(port: u16) -> TcpStream {
    let mut sock = TcpStream::connect(("127.0.0.1", port))
        .await
        .expect("connect");
    sock.write_all(&startup()).await.expect("startup");
    let reply = read_until_ready(&mut sock, Duration::from_secs(5)).await;
    assert!(
        reply.last().is_some_and(|m| m.kind == b'Z'),
        "no ReadyForQuery after startup: {reply:?}"
    );
    sock
}

/// Whether the server closed `sock` (reads end) within `wait`.
pub async fn closed(sock: &mut TcpStream, wait: Duration) -> bool {
    let mut buf = [0u8; 1024];
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        match tokio::time::timeout_at(deadline, sock.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return true,
            Ok(Ok(_)) => continue,
            Err(_) => return false,
        }
    }
}
