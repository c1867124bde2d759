//! The real `stagesql` binary: the README run command, a psql query, SIGTERM, and bad configs.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

fn repo_file(rel: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(rel)
        .display()
        .to_string()
}

#[test]
fn demo_binary_serves_psql_and_stops_cleanly_on_sigterm() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_stagesql"))
        .args([
            "--config",
            &repo_file("config/demo.toml"),
            "--listen",
            "127.0.0.1:0",
        ])
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn stagesql");
    let stderr = child.stderr.take().expect("stderr");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let mut port = None;
    while port.is_none() {
        let line = rx
            .recv_timeout(Duration::from_secs(30))
            .expect("server logs a listening line");
        if let Some(rest) = line.split("listening on 127.0.0.1:").nth(1) {
            port = rest
                .split_whitespace()
                .next()
                .and_then(|p| p.parse::<u16>().ok());
        }
    }
    let port = port.expect("port");
    let out = Command::new("psql")
        .arg(format!("host=127.0.0.1 port={port} user=stagesql dbname=stagesql"))
        .args(["-X", "-A", "-t", "-c"])
        .arg("SELECT stage_name, region, tags->'env' AS env FROM aws.apigatewayv2_stage WHERE auto_deploy ORDER BY 1, 2, 3")
        .output()
        .expect("run psql (the test command installs postgresql-client)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(text.lines().count(), 19, "{text}");
    assert!(
        text.lines().any(|l| l == "staging|us-east-1|staging"),
        "{text}"
    );

    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(killed.success());
    let status = wait_with_timeout(&mut child, Duration::from_secs(20));
    assert!(status.success(), "exit status {status}");
}

fn wait_with_timeout(child: &mut std::process::Child, limit: Duration) -> std::process::ExitStatus {
    let start = std::time::Instant::now();
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            return status;
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            panic!("stagesql did not exit within {limit:?} of SIGTERM");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn bad_config_stops_startup_naming_the_key() {
    let dir = std::env::temp_dir().join(format!("stagesql-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("tmp dir");
    for (body, key) in [
        ("[server]\nlisten = \"nonsense\"\n", "server.listen"),
        ("[server]\nlisten_on = \"127.0.0.1:1\"\n", "listen_on"),
        (
            "[auth]\nmethod = \"trust\"\n[[auth.users]]\nname = \"\"\n",
            "auth.users.name",
        ),
        (
            "[auth]\nmethod = \"trust\"\n[source]\nfixture = \"missing.json\"\n",
            "missing.json",
        ),
        ("[server]\nlisten = \"127.0.0.1:0\"\n", "auth.users"),
        (
            "[auth]\nmethod = \"trust\"\n[tls]\nmode = \"required\"\ncert_file = \"no-such-cert.pem\"\nkey_file = \"no-such-key.pem\"\n",
            "no-such-cert.pem",
        ),
    ] {
        let path = dir.join("bad.toml");
        std::fs::write(&path, body).expect("write config");
        let mut child = Command::new(env!("CARGO_BIN_EXE_stagesql"))
            .args(["--config", &path.display().to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run stagesql");
        let status = wait_with_timeout(&mut child, Duration::from_secs(20));
        let mut err = String::new();
        std::io::Read::read_to_string(&mut child.stderr.take().expect("stderr"), &mut err)
            .expect("read stderr");
        assert!(!status.success(), "{body} was accepted");
        assert!(err.contains(key), "stderr should name {key}: {err}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
