//! moto_server (PyPI `moto[server]`) as the AWS API: started on a free port for one test.
//!
//! `tests/run.sh` installs it into a venv and exports `STAGESQL_MOTO_SERVER`; without that, the
//! venv at `~/.cache/stagesql/venv` or a `moto_server` on PATH is used.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running moto_server, killed when dropped.
#[derive(Debug)]
pub struct Moto {
    child: Child,
    port: u16,
}

fn moto_binary() -> PathBuf {
    if let Some(p) = std::env::var_os("STAGESQL_MOTO_SERVER") {
        return PathBuf::from(p);
    }
    if let Some(home) = std::env::var_os("HOME") {
        let venv = PathBuf::from(home).join(".cache/stagesql/venv/bin/moto_server");
        if venv.exists() {
            return venv;
        }
    }
    PathBuf::from("moto_server")
}

impl Moto {
    /// Starts moto_server on a free loopback port and waits until it accepts connections.
    pub fn start() -> Moto {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("free port");
        let binary = moto_binary();
        let child = Command::new(&binary)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot start {} ({e}); run ./tests/run.sh, which installs moto[server]",
                    binary.display()
                )
            });
        let start = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "moto_server did not start"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        Moto { child, port }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Creates an S3 bucket (moto accepts an unsigned request; the Authorization header only
    /// tells it the request is for S3).
    pub fn create_bucket(&self, name: &str) {
        use std::io::{Read, Write};
        let mut sock = std::net::TcpStream::connect(("127.0.0.1", self.port)).expect("moto");
        let request = format!(
            "PUT /{name} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nAuthorization: AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=0\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            self.port
        );
        sock.write_all(request.as_bytes()).expect("send");
        let mut answer = String::new();
        let _ = sock.read_to_string(&mut answer);
        assert!(
            answer.starts_with("HTTP/1.1 200") || answer.starts_with("HTTP/1.0 200"),
            "moto did not create bucket {name}: {answer}"
        );
    }

    /// Stops moto_server (the store and every AWS API go away).
    pub fn stop(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
