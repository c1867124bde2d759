//! The protocol tests' server (the real accept loop in front of [`canned::CannedBackend`]),
//! client helpers, and the raw message bytes for what a client hides.

pub mod canned;

use std::sync::Arc;
use std::time::Duration;

use stagesql_wire::{
    AuthMethod, Credentials, InboundLimits, InputBudget, Shared, Users, WireConfig,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;

use canned::{CannedBackend, Journal};

/// A server on a free port in front of a canned backend; it stops when dropped.
pub struct Server {
    /// Its port.
    pub port: u16,
    /// What its sessions were asked to do.
    pub journal: Arc<Journal>,
    stop: CancellationToken,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

impl Server {
    pub async fn start() -> Server {
        let journal = Arc::new(Journal::default());
        let backend = Arc::new(CannedBackend {
            journal: Arc::clone(&journal),
        });
        let shared = Shared::new(
            backend,
            WireConfig {
                auth_failure_delay: Duration::from_millis(10),
                max_connections: 8,
                startup_timeout: Duration::from_secs(10),
                inbound: InboundLimits {
                    max_message: 1024 * 1024,
                    budget: InputBudget::new(16 * 1024 * 1024),
                },
            },
            Credentials {
                users: Arc::new(Users::new(
                    AuthMethod::Trust,
                    vec![("alice".to_owned(), None), ("nobody".to_owned(), None)],
                )),
                tls: None,
            },
        );
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("the server listens");
        let port = listener.local_addr().expect("a bound port").port();
        let stop = CancellationToken::new();
        tokio::spawn(stagesql_wire::serve(
            listener,
            shared,
            stop.clone(),
            Duration::from_secs(1),
        ));
        Server {
            port,
            journal,
            stop,
        }
    }

    pub async fn client(
        &self,
        user: &str,
        dbname: &str,
    ) -> Result<tokio_postgres::Client, tokio_postgres::Error> {
        let config = format!(
            "host=127.0.0.1 port={} user={user} dbname={dbname} application_name=canned-test",
            self.port
        );
        let (client, connection) = tokio_postgres::connect(&config, tokio_postgres::NoTls).await?;
        tokio::spawn(connection);
        Ok(client)
    }

    /// A raw connection, logged in as alice and ready for a query.
    pub async fn logged_in(&self) -> TcpStream {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port))
            .await
            .expect("the server answers");
        stream
            .write_all(&startup("alice", "mockdb"))
            .await
            .expect("the server reads");
        read_until_ready(&mut stream).await;
        stream
    }

    pub async fn connect(&self) -> tokio_postgres::Client {
        self.client("alice", "mockdb")
            .await
            .expect("the server answers")
    }
}

pub fn sqlstate(e: &tokio_postgres::Error) -> String {
    e.code()
        .map(|c| c.code().to_owned())
        .unwrap_or_else(|| format!("no SQLSTATE: {e}"))
}

pub fn first_values(messages: &[tokio_postgres::SimpleQueryMessage]) -> Vec<String> {
    messages
        .iter()
        .filter_map(|m| match m {
            tokio_postgres::SimpleQueryMessage::Row(row) => row.get(0).map(str::to_owned),
            _ => None,
        })
        .collect()
}

// Raw protocol helpers.

pub fn message(tag: u8, body: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    out.extend(
        i32::try_from(body.len() + 4)
            .expect("a small length")
            .to_be_bytes(),
    );
    out.extend(body);
    out
}

/// Parse of the unnamed statement, no declared types.
pub fn parse(sql: &str) -> Vec<u8> {
    message(
        b'P',
        &[format!("\0{sql}\0").as_bytes(), &0i16.to_be_bytes()].concat(),
    )
}

/// Execute of the unnamed portal.
pub fn execute(max_rows: i32) -> Vec<u8> {
    message(b'E', &[&b"\0"[..], &max_rows.to_be_bytes()].concat())
}

pub fn query(sql: &str) -> Vec<u8> {
    message(b'Q', format!("{sql}\0").as_bytes())
}

pub fn startup(user: &str, database: &str) -> Vec<u8> {
    let mut body = 196_608i32.to_be_bytes().to_vec();
    body.extend(format!("user\0{user}\0database\0{database}\0\0").as_bytes());
    let mut out = i32::try_from(body.len() + 4)
        .expect("the server answers")
        .to_be_bytes()
        .to_vec();
    out.extend(body);
    out
}

/// Reads messages until a ReadyForQuery; returns every byte read.
pub async fn read_until_ready(stream: &mut TcpStream) -> Vec<u8> {
    let mut reply = Vec::new();
    let mut buf = [0u8; 4096];
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        if reply_types(&reply).last() == Some(&b'Z') {
            return reply;
        }
        let n = tokio::time::timeout_at(deadline, stream.read(&mut buf))
            .await
            .expect("a ReadyForQuery within 10 s")
            .expect("the server answers");
        assert!(n > 0, "the server closed the connection: {reply:?}");
        reply.extend(&buf[..n]);
    }
}

/// The types of the whole messages in `reply`.
pub fn reply_types(reply: &[u8]) -> Vec<u8> {
    let mut types = Vec::new();
    let mut at = 0;
    while at + 5 <= reply.len() {
        let len = i32::from_be_bytes(reply[at + 1..at + 5].try_into().expect("four bytes"));
        let end = at + 1 + usize::try_from(len).expect("a small length");
        if end > reply.len() {
            break;
        }
        types.push(reply[at]);
        at = end;
    }
    types
}

pub fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}
