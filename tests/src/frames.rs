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
    let mut b = cstr("");
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
