//! The real `stagesql` binary: the README run command, a psql query, SIGTERM draining a running
//! query, SIGHUP reloading the certificate, `healthcheck`, and bad configs.

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
    let (mut child, port, _logs) = spawn_stagesql(
        &[
            "--config",
            &repo_file("config/demo.toml"),
            "--listen",
            "127.0.0.1:0",
        ],
        &[("RUST_LOG", "info")],
    );
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

    send_signal(&child, "-TERM");
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
        // The cause is said once (a missing fixture repeated "No such file or directory").
        let said = err
            .lines()
            .rfind(|l| l.starts_with("stagesql: "))
            .unwrap_or_default();
        assert!(said.matches("(os error").count() <= 1, "{said}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// Runs `stagesql hash-password` with `password` on stdin; returns the verifier it prints.
fn hash_password(password: &str) -> String {
    use std::io::Write;
    let mut child = Command::new(env!("CARGO_BIN_EXE_stagesql"))
        .arg("hash-password")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run stagesql hash-password");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(format!("{password}\n").as_bytes())
        .expect("write password");
    let out = child.wait_with_output().expect("wait");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .expect("utf-8")
        .trim()
        .to_owned()
}

/// Starts the binary with `config` (text) at trace level; see [`spawn_stagesql`].
fn spawn_server(
    config: &str,
    envs: &[(&str, &str)],
) -> (std::process::Child, u16, mpsc::Receiver<String>) {
    let dir = std::env::temp_dir().join(format!("stagesql-cli-secrets-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("tmp dir");
    let path = dir.join("server.toml");
    std::fs::write(&path, config).expect("write config");
    let mut all = vec![("RUST_LOG", "trace")];
    all.extend_from_slice(envs);
    spawn_stagesql(&["--config", &path.display().to_string()], &all)
}

thread_local! {
    /// The operator endpoints' port the last [`spawn_stagesql`] on this thread logged.
    static HTTP_PORT: std::cell::Cell<Option<u16>> = const { std::cell::Cell::new(None) };
}

/// Starts the binary with `args` and `envs`; returns it with the port from its "listening on"
/// line and a channel of its output lines (stdout and stderr). The operator endpoints' port,
/// when logged, is left in [`HTTP_PORT`].
fn spawn_stagesql(
    args: &[&str],
    envs: &[(&str, &str)],
) -> (std::process::Child, u16, mpsc::Receiver<String>) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_stagesql"))
        .args(args)
        .envs(envs.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn stagesql");
    let (tx, rx) = mpsc::channel();
    for stream in [
        Box::new(child.stdout.take().expect("stdout")) as Box<dyn std::io::Read + Send>,
        Box::new(child.stderr.take().expect("stderr")),
    ] {
        let tx = tx.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stream).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
    }
    let mut seen = Vec::new();
    let port = loop {
        let line = rx
            .recv_timeout(Duration::from_secs(30))
            .unwrap_or_else(|_| panic!("no listening line in {seen:#?}"));
        if let Some(http) = line
            .split("operator endpoints on http://127.0.0.1:")
            .nth(1)
            .and_then(|rest| rest.split(|c: char| !c.is_ascii_digit()).next())
            .and_then(|p| p.parse::<u16>().ok())
        {
            HTTP_PORT.with(|h| h.set(Some(http)));
        }
        if let Some(port) = line
            .split("listening on 127.0.0.1:")
            .nth(1)
            .and_then(|rest| rest.split(|c: char| !c.is_ascii_digit()).next())
            .and_then(|p| p.parse::<u16>().ok())
        {
            break port;
        }
        seen.push(line);
    };
    (child, port, rx)
}

#[test]
fn hash_password_verifiers_log_in_and_no_secret_reaches_the_logs() {
    let password = "pa55-word-from-hash";
    let verifier = hash_password(password);
    assert!(verifier.starts_with("SCRAM-SHA-256$4096:"), "{verifier}");
    assert_ne!(
        verifier,
        hash_password(password),
        "each verifier has its own salt"
    );
    let env_password = "env-secret-987";
    let wrong = "wrong-guess-555";
    let config = format!(
        "[server]\nlisten = \"127.0.0.1:0\"\n[http]\nlisten = \"127.0.0.1:0\"\n[log]\nlevel = \"trace\"\n\
         [[auth.users]]\nname = \"alice\"\nverifier = \"{verifier}\"\n\
         [[auth.users]]\nname = \"bob\"\npassword_env = \"STAGESQL_TEST_BOB_PASSWORD\"\n"
    );
    let (mut child, port, rx) =
        spawn_server(&config, &[("STAGESQL_TEST_BOB_PASSWORD", env_password)]);
    let login = |user: &str, pw: &str| {
        Command::new("psql")
            .arg(format!(
                "host=127.0.0.1 port={port} user={user} dbname=stagesql"
            ))
            .args(["-X", "-A", "-t", "-c", "SELECT current_user"])
            .env("PGPASSWORD", pw)
            .output()
            .expect("run psql")
    };
    let out = login("alice", password);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "alice");
    let out = login("bob", env_password);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = login("alice", wrong);
    assert!(!out.status.success());
    let out = login("nobody", wrong);
    assert!(!out.status.success());

    send_signal(&child, "-TERM");
    let status = wait_with_timeout(&mut child, Duration::from_secs(20));
    assert!(status.success(), "exit status {status}");
    let logs: Vec<String> = rx.try_iter().collect();
    assert!(
        logs.iter()
            .any(|l| l.contains("password authentication failed")),
        "failed logins are logged: {logs:#?}"
    );
    let keys: Vec<&str> = verifier.split(['$', ':']).skip(2).collect();
    for secret in [password, env_password, wrong]
        .into_iter()
        .chain(keys.iter().copied())
    {
        assert!(
            !logs.iter().any(|l| l.contains(secret)),
            "{secret} appears in the logs"
        );
    }
}

#[test]
fn check_config_layers_file_environment_and_flags_and_masks_secrets() {
    let verifier = hash_password("layered-secret");
    let dir = std::env::temp_dir().join(format!("stagesql-cli-check-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("tmp dir");
    let path = dir.join("check.toml");
    std::fs::write(
        &path,
        format!(
            "[limits]\nmax_connections = 7\n[[auth.users]]\nname = \"alice\"\nverifier = \"{verifier}\"\n"
        ),
    )
    .expect("write config");
    let out = Command::new(env!("CARGO_BIN_EXE_stagesql"))
        .args([
            "--config",
            &path.display().to_string(),
            "--listen",
            "127.0.0.1:6543",
            "check-config",
        ])
        .env("STAGESQL__LIMITS__MAX_CONNECTIONS", "12")
        .env("STAGESQL__LIMITS__STATEMENT_TIMEOUT", "30s")
        .stdin(Stdio::null())
        .output()
        .expect("run check-config");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains("max_connections = 12"),
        "env beats the file: {text}"
    );
    assert!(text.contains("statement_timeout = \"30s\""), "{text}");
    assert!(
        text.contains("listen = \"127.0.0.1:6543\""),
        "the flag beats all: {text}"
    );
    assert!(
        text.contains("name = \"alice\"") && text.contains("<redacted>"),
        "{text}"
    );
    assert!(!text.contains(&verifier), "the verifier is masked: {text}");

    let out = Command::new(env!("CARGO_BIN_EXE_stagesql"))
        .args(["--config", &path.display().to_string(), "check-config"])
        .env("STAGESQL__LIMITS__MAX_CONNECTIONS", "0")
        .stdin(Stdio::null())
        .output()
        .expect("run check-config");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("limits.max_connections")
            && err.contains("environment variable STAGESQL__LIMITS__MAX_CONNECTIONS"),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// rcgen's throwaway CA and a leaf for localhost written over `cert` and `key`; returns the
/// CA's PEM path (in `dir`, named after `tag`).
fn issue(dir: &Path, tag: &str, cert: &Path, key: &Path) -> std::path::PathBuf {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("ca params");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, format!("stagesql test CA {tag}"));
    let ca_key = KeyPair::generate().expect("ca key");
    let ca_cert = ca_params.self_signed(&ca_key).expect("ca");
    let ca_path = dir.join(format!("ca-{tag}.pem"));
    std::fs::write(&ca_path, ca_cert.pem()).expect("write ca");
    let issuer = Issuer::new(ca_params, ca_key);
    let leaf_key = KeyPair::generate().expect("leaf key");
    let mut params = CertificateParams::new(vec!["localhost".to_owned()]).expect("leaf params");
    params
        .distinguished_name
        .push(DnType::CommonName, "localhost");
    let leaf = params.signed_by(&leaf_key, &issuer).expect("sign");
    std::fs::write(cert, leaf.pem()).expect("write cert");
    std::fs::write(key, leaf_key.serialize_pem()).expect("write key");
    ca_path
}

/// psql over TLS with verify-full against `ca`; the output.
fn psql_verify_full(port: u16, ca: &Path, sql: &str) -> std::process::Output {
    Command::new("psql")
        .arg(format!(
            "host=localhost hostaddr=127.0.0.1 port={port} user=stagesql dbname=stagesql sslmode=verify-full sslrootcert={}",
            ca.display()
        ))
        .args(["-X", "-A", "-t", "-c", sql])
        .env("PGCONNECT_TIMEOUT", "10")
        .output()
        .expect("run psql")
}

/// `stagesql healthcheck` with `args`; its exit code and output.
fn healthcheck(args: &[&str]) -> (Option<i32>, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_stagesql"))
        .arg("healthcheck")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run healthcheck");
    (
        out.status.code(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

/// Waits for a log line containing `needle`; the lines seen meanwhile are kept in `seen`.
fn wait_for_line(rx: &mpsc::Receiver<String>, needle: &str, seen: &mut Vec<String>) {
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while std::time::Instant::now() < deadline {
        if let Ok(line) = rx.recv_timeout(Duration::from_millis(200)) {
            let found = line.contains(needle);
            seen.push(line);
            if found {
                return;
            }
        }
    }
    panic!("no log line with {needle:?} in {seen:#?}");
}

#[test]
fn sighup_reloads_the_certificate_healthcheck_answers_and_sigterm_drains_a_running_query() {
    let dir = tempfile::tempdir().expect("tmp");
    let (cert, key) = (dir.path().join("server.crt"), dir.path().join("server.key"));
    let old_ca = issue(dir.path(), "old", &cert, &key);
    let config = dir.path().join("server.toml");
    std::fs::write(
        &config,
        "[server]\nlisten = \"127.0.0.1:0\"\nshutdown_drain_seconds = 60\n[http]\nlisten = \"127.0.0.1:0\"\n\
         [auth]\nmethod = \"trust\"\n[tls]\nmode = \"optional\"\ncert_file = \"server.crt\"\nkey_file = \"server.key\"\n",
    )
    .expect("write config");
    let (mut child, port, rx) = spawn_stagesql(
        &[
            "--config",
            &config.display().to_string(),
            "--log-format",
            "json",
            "--log-level",
            "debug",
        ],
        // The flag beats RUST_LOG (at warn, the lines this test reads would be missing).
        &[("RUST_LOG", "warn")],
    );
    let http = HTTP_PORT
        .with(std::cell::Cell::get)
        .expect("the operator port is logged");
    let mut seen = Vec::new();

    let (code, text) = healthcheck(&["--url", &format!("http://127.0.0.1:{http}/readyz")]);
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains("50 stages"), "{text}");
    // Without --url it asks http.listen of its own config layers (here the container's config,
    // as the image's HEALTHCHECK does, with the port moved by a flag), and a password variable
    // unset in the probe's environment does not matter.
    let (code, text) = healthcheck(&[
        "--config",
        &repo_file("config/container.toml"),
        "--http-listen",
        &format!("127.0.0.1:{http}"),
    ]);
    assert_eq!(code, Some(0), "{text}");
    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let nobody = closed.local_addr().expect("addr").port();
    drop(closed);
    let (code, text) = healthcheck(&["--url", &format!("http://127.0.0.1:{nobody}/readyz")]);
    assert_eq!(code, Some(1), "nothing listening is unhealthy: {text}");

    let out = psql_verify_full(port, &old_ca, "SELECT 1");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // A new certificate from a new CA, then SIGHUP: the next client gets it.
    let new_ca = issue(dir.path(), "new", &cert, &key);
    send_signal(&child, "-HUP");
    wait_for_line(&rx, "reloaded", &mut seen);
    let out = psql_verify_full(port, &new_ca, "SELECT 1");
    assert!(
        out.status.success(),
        "new CA: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = psql_verify_full(port, &old_ca, "SELECT 1");
    assert!(
        !out.status.success(),
        "the old certificate is no longer served"
    );

    // A broken certificate and SIGHUP: refused, and the server keeps the one it has.
    std::fs::write(&cert, "garbage").expect("break cert");
    send_signal(&child, "-HUP");
    wait_for_line(&rx, "reload failed", &mut seen);
    let out = psql_verify_full(port, &new_ca, "SELECT 1");
    assert!(
        out.status.success(),
        "kept: {}",
        String::from_utf8_lossy(&out.stderr)
    );

    // SIGTERM while a query runs: it finishes, then the server exits 0.
    let slow = "SELECT count(*) FROM aws.apigatewayv2_stage a, aws.apigatewayv2_stage b, \
                aws.apigatewayv2_stage c, aws.apigatewayv2_stage d \
                WHERE md5(a.stage_name || b.stage_name || c.stage_name || d.stage_name) = 'x'";
    let running = std::thread::spawn(move || {
        Command::new("psql")
            .arg(format!(
                "host=127.0.0.1 port={port} user=stagesql dbname=stagesql"
            ))
            .args(["-X", "-A", "-t", "-c", slow])
            .output()
            .expect("run psql")
    });
    std::thread::sleep(Duration::from_millis(500));
    send_signal(&child, "-TERM");
    let out = running.join().expect("psql thread");
    assert!(
        out.status.success(),
        "the running query finished: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "0");
    let status = wait_with_timeout(&mut child, Duration::from_secs(60));
    assert!(status.success(), "exit status {status}");

    // JSON logs, one object a line, with the connection's span naming the client.
    seen.extend(rx.try_iter());
    let not_json: Vec<&String> = seen
        .iter()
        .filter(|l| !(l.starts_with('{') && l.ends_with('}')))
        .collect();
    assert!(not_json.is_empty(), "{not_json:#?}");
    assert!(
        seen.iter().any(|l| l.contains("\"name\":\"connection\"")
            && l.contains("\"user\":\"stagesql\"")
            && l.contains("\"application_name\":\"psql\"")
            && l.contains("\"peer\":\"127.0.0.1:")),
        "a line in a connection span with peer, user and application_name: {seen:#?}"
    );
    assert!(
        seen.iter().any(|l| l.contains("\"message\":\"stopped\"")),
        "the last line says it stopped: {seen:#?}"
    );
}

#[test]
fn sigterm_ends_a_runaway_query_and_the_process_within_the_drain() {
    let (mut child, port, _logs) = spawn_stagesql(
        &[
            "--config",
            &repo_file("config/demo.toml"),
            "--listen",
            "127.0.0.1:0",
            "--set",
            "server.shutdown_drain_seconds=2",
        ],
        &[("RUST_LOG", "info")],
    );
    // Never ends on its own: a recursive CTE with no stop, counted.
    let runaway = "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) \
                   SELECT count(*) FROM r";
    let running = std::thread::spawn(move || {
        Command::new("psql")
            .arg(format!(
                "host=127.0.0.1 port={port} user=stagesql dbname=stagesql"
            ))
            .args(["-X", "-A", "-t", "-c", runaway])
            .output()
            .expect("run psql")
    });
    std::thread::sleep(Duration::from_millis(1000));
    let signalled = std::time::Instant::now();
    send_signal(&child, "-TERM");
    let status = wait_with_timeout(&mut child, Duration::from_secs(10));
    let took = signalled.elapsed();
    assert!(status.success(), "exit status {status}");
    assert!(
        took < Duration::from_secs(6),
        "exited {took:?} after SIGTERM"
    );
    let out = running.join().expect("psql thread");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "the runaway query was ended");
    assert!(
        stderr.contains("terminating connection") || stderr.contains("server closed"),
        "{stderr}"
    );
}

/// Sends `signal` (e.g. `-TERM`) to `child` with kill(1).
fn send_signal(child: &std::process::Child, signal: &str) {
    let sent = Command::new("kill")
        .args([signal, &child.id().to_string()])
        .status()
        .expect("run kill");
    assert!(sent.success(), "kill {signal}");
}
