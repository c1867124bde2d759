//! Reloading (what SIGHUP does): the next TLS client gets the new certificate and the new user
//! list, connections already open keep working, and a broken reload changes nothing.

use std::path::Path;
use std::process::Output;

use stagesql_server::config::{Config, TlsModeConfig};
use stagesql_tests::pki::Pki;
use stagesql_tests::{TestServer, scram_config, sqlstate};
use tokio_postgres::NoTls;

fn verifier(password: &str) -> String {
    stagesql_wire::ScramVerifier::from_password(password).to_text()
}

/// SCRAM users given as (name, password), TLS optional, the certificate and key at fixed paths.
fn config(users: &[(&str, &str)], cert: &Path, key: &Path) -> Config {
    let verifiers: Vec<(&str, String)> = users.iter().map(|(n, p)| (*n, verifier(p))).collect();
    let pairs: Vec<(&str, &str)> = verifiers.iter().map(|(n, v)| (*n, v.as_str())).collect();
    let mut config = scram_config(&pairs);
    config.tls.mode = TlsModeConfig::Optional;
    config.tls.cert_file = Some(cert.to_owned());
    config.tls.key_file = Some(key.to_owned());
    config
}

/// psql with sslmode=verify-full against the CA in `ca`, as `user`.
async fn psql_verified(server: &TestServer, ca: &Path, user: &str, password: &str) -> Output {
    tokio::process::Command::new("psql")
        .arg(format!(
            "host=localhost hostaddr=127.0.0.1 port={} user={user} dbname=stagesql sslmode=verify-full sslrootcert={}",
            server.port(),
            ca.display()
        ))
        .args(["-X", "-A", "-t", "-c", "SELECT current_user"])
        .env("PGCONNECT_TIMEOUT", "10")
        .env("PGPASSWORD", password)
        .output()
        .await
        .expect("run psql")
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Makes a new CA and a leaf signed by it, written over `cert` and `key`; returns the CA.
fn reissue(cert: &Path, key: &Path) -> Pki {
    let pki = Pki::new();
    let (new_key, key_pem) = pki.ec_key("server");
    let new_cert = pki.leaf("server", &key_pem);
    std::fs::copy(new_cert, cert).expect("replace the certificate");
    std::fs::copy(new_key, key).expect("replace the key");
    pki
}

#[tokio::test]
async fn a_reloaded_certificate_and_user_list_serve_the_next_client() {
    let dir = tempfile::tempdir().expect("tmp");
    let (cert, key) = (dir.path().join("server.crt"), dir.path().join("server.key"));
    let old_ca = reissue(&cert, &key);
    let server = TestServer::start_with(config(&[("alice", "one")], &cert, &key)).await;

    let out = psql_verified(&server, &old_ca.path("ca.pem"), "alice", "one").await;
    assert!(out.status.success(), "{}", text(&out));
    // A connection open across the reload.
    let (open, conn) = tokio_postgres::connect(
        &format!(
            "host=127.0.0.1 port={} user=alice password=one dbname=stagesql",
            server.port()
        ),
        NoTls,
    )
    .await
    .expect("alice logs in");
    tokio::spawn(conn);

    // New certificate from a new CA; alice's password changes and bob is added.
    let new_ca = reissue(&cert, &key);
    let report = server
        .reload(config(&[("alice", "two"), ("bob", "three")], &cert, &key))
        .expect("reload");
    assert_eq!((report.users, report.tls), (2, true));
    assert!(report.needs_restart.is_empty(), "{report:?}");

    let out = psql_verified(&server, &new_ca.path("ca.pem"), "bob", "three").await;
    assert!(
        out.status.success(),
        "the new certificate and user: {}",
        text(&out)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "bob");
    let out = psql_verified(&server, &old_ca.path("ca.pem"), "alice", "two").await;
    assert!(!out.status.success(), "the old certificate is gone");
    // libpq says "certificate verify failed" or, for a chain signed by another EC key,
    // "SSL error: EVP lib".
    assert!(
        text(&out).contains("SSL error") || text(&out).contains("certificate verify failed"),
        "{}",
        text(&out)
    );
    let out = psql_verified(&server, &new_ca.path("ca.pem"), "alice", "one").await;
    assert!(!out.status.success(), "the old password is gone");
    assert!(
        text(&out).contains("password authentication failed"),
        "{}",
        text(&out)
    );

    // The connection from before the reload was not dropped, and the catalog knows bob.
    let roles: Vec<String> = open
        .query(
            "SELECT rolname::text FROM pg_roles WHERE rolcanlogin ORDER BY oid",
            &[],
        )
        .await
        .expect("the open connection still works")
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(roles, vec!["alice", "bob"]);
    server.stop().await;
}

#[tokio::test]
async fn a_broken_reload_changes_nothing_and_names_the_problem() {
    let dir = tempfile::tempdir().expect("tmp");
    let (cert, key) = (dir.path().join("server.crt"), dir.path().join("server.key"));
    let ca = reissue(&cert, &key);
    let server = TestServer::start_with(config(&[("alice", "one")], &cert, &key)).await;

    // An unreadable certificate: refused, naming the file; never a fall back to plaintext.
    std::fs::write(&cert, "not a certificate").expect("break the certificate");
    let err = server
        .reload(config(&[("alice", "two")], &cert, &key))
        .expect_err("a broken certificate is refused")
        .to_string();
    assert!(err.contains(&cert.display().to_string()), "{err}");
    // A user without a secret: refused, naming the key.
    let mut no_secret = config(&[("alice", "two")], &cert, &key);
    no_secret.auth.users[0].verifier = None;
    let err = server
        .reload(no_secret)
        .expect_err("a user without a secret is refused")
        .to_string();
    assert!(err.contains("auth.users"), "{err}");

    // Still the old certificate and the old password.
    let out = psql_verified(&server, &ca.path("ca.pem"), "alice", "one").await;
    assert!(out.status.success(), "{}", text(&out));
    let err = tokio_postgres::connect(
        &format!(
            "host=127.0.0.1 port={} user=alice password=two dbname=stagesql",
            server.port()
        ),
        NoTls,
    )
    .await
    .err()
    .expect("the refused reload's password does not work");
    assert_eq!(sqlstate(&err), "28P01");
    server.stop().await;
}
