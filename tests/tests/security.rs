//! TLS and authentication with real clients: psql (libpq) with sslmode=require/verify-full and
//! SCRAM channel binding, tokio-postgres with SCRAM, a raw direct-TLS client; certificates are
//! made here with rcgen (and converted to PKCS#1/SEC1 with openssl).

use std::path::Path;
use std::process::Output;
use std::sync::Arc;
use std::time::{Duration, Instant};

use stagesql_server::config::{Config, TlsModeConfig};
use stagesql_tests::pki::Pki;
use stagesql_tests::{TestServer, scram_config, sqlstate, trust_config};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_postgres::NoTls;

fn openssl(args: &[&str]) {
    let out = std::process::Command::new("openssl")
        .args(args)
        .output()
        .expect("openssl (installed with the test command)");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn tls_config(mode: TlsModeConfig, cert: &Path, key: &Path) -> Config {
    let mut config = trust_config();
    config.tls.mode = mode;
    config.tls.cert_file = Some(cert.to_owned());
    config.tls.key_file = Some(key.to_owned());
    config
}

async fn psql(conn: &str, sql: &str, password: Option<&str>) -> Output {
    let mut cmd = tokio::process::Command::new("psql");
    cmd.arg(conn)
        .args(["-X", "-A", "-t", "-c", sql])
        .env("PGCONNECT_TIMEOUT", "10")
        .env_remove("PGPASSWORD");
    if let Some(p) = password {
        cmd.env("PGPASSWORD", p);
    }
    cmd.output().await.expect("run psql")
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn verify_full(server: &TestServer, pki: &Pki, user: &str) -> String {
    format!(
        "host=localhost hostaddr=127.0.0.1 port={} user={user} dbname=stagesql sslmode=verify-full sslrootcert={}",
        server.port(),
        pki.path("ca.pem").display()
    )
}

#[tokio::test]
async fn tls_required_serves_verify_full_and_refuses_plaintext_with_28000() {
    let pki = Pki::new();
    let (key, key_pem) = pki.ec_key("server");
    let cert = pki.leaf("server", &key_pem);
    let server = TestServer::start_with(tls_config(TlsModeConfig::Required, &cert, &key)).await;

    let out = psql(
        &verify_full(&server, &pki, "stagesql"),
        "SELECT count(*) FROM aws.apigatewayv2_stage",
        None,
    )
    .await;
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "50");
    let out = psql(&verify_full(&server, &pki, "stagesql"), "\\conninfo", None).await;
    assert!(text(&out).contains("SSL connection"), "{}", text(&out));

    // sslmode=require: encrypted, certificate not checked.
    let conn = format!(
        "host=127.0.0.1 port={} user=stagesql dbname=stagesql sslmode=require",
        server.port()
    );
    let out = psql(&conn, "SELECT 1", None).await;
    assert!(out.status.success(), "{}", text(&out));

    // Plaintext: FATAL 28000 with a message that says what to do.
    let out = psql(
        &format!("{} sslmode=disable", server.conn_str()),
        "SELECT 1",
        None,
    )
    .await;
    assert!(!out.status.success());
    assert!(text(&out).contains("accepts only TLS"), "{}", text(&out));
    let err = tokio_postgres::connect(&server.conn_str(), NoTls)
        .await
        .err()
        .expect("plaintext is refused");
    assert_eq!(sqlstate(&err), "28000");

    // A wrong CA fails verification on the client side; the server keeps serving.
    let other = Pki::new();
    let out = psql(&verify_full(&server, &other, "stagesql"), "SELECT 1", None).await;
    assert!(!out.status.success(), "{}", text(&out));
    let out = psql(&verify_full(&server, &pki, "stagesql"), "SELECT 1", None).await;
    assert!(out.status.success(), "{}", text(&out));
    server.stop().await;
}

#[tokio::test]
async fn tls_optional_lets_the_client_choose() {
    let pki = Pki::new();
    let (key, key_pem) = pki.ec_key("server");
    let cert = pki.leaf("server", &key_pem);
    let server = TestServer::start_with(tls_config(TlsModeConfig::Optional, &cert, &key)).await;
    let out = psql(&verify_full(&server, &pki, "stagesql"), "\\conninfo", None).await;
    assert!(text(&out).contains("SSL connection"), "{}", text(&out));
    let out = psql(
        &format!("{} sslmode=disable", server.conn_str()),
        "\\conninfo",
        None,
    )
    .await;
    assert!(out.status.success(), "{}", text(&out));
    assert!(!text(&out).contains("SSL connection"), "{}", text(&out));
    server.stop().await;
}

#[tokio::test]
async fn tls_disabled_answers_sslrequest_with_no() {
    let server = TestServer::start().await;
    let out = psql(
        &format!("{} sslmode=require", server.conn_str()),
        "SELECT 1",
        None,
    )
    .await;
    assert!(!out.status.success());
    assert!(
        text(&out).contains("does not support SSL"),
        "{}",
        text(&out)
    );
    let out = psql(
        &format!("{} sslmode=prefer", server.conn_str()),
        "SELECT 1",
        None,
    )
    .await;
    assert!(out.status.success(), "{}", text(&out));
    server.stop().await;
}

#[tokio::test]
async fn pkcs1_rsa_and_sec1_ec_keys_work() {
    let pki = Pki::new();
    // RSA: generated as PKCS#8 (rcgen signs with it), served from its PKCS#1 form.
    let rsa8 = pki.path("rsa8.key");
    openssl(&[
        "genpkey",
        "-algorithm",
        "RSA",
        "-pkeyopt",
        "rsa_keygen_bits:2048",
        "-out",
        &rsa8.display().to_string(),
    ]);
    let rsa1 = pki.path("rsa1.key");
    openssl(&[
        "rsa",
        "-in",
        &rsa8.display().to_string(),
        "-traditional",
        "-out",
        &rsa1.display().to_string(),
    ]);
    let rsa_cert = pki.leaf("rsa", &std::fs::read_to_string(&rsa8).expect("rsa8"));
    // EC: PKCS#8 from rcgen, served from its SEC1 form.
    let (ec8, ec_pem) = pki.ec_key("ec8");
    let ec_cert = pki.leaf("ec", &ec_pem);
    let sec1 = pki.path("sec1.key");
    openssl(&[
        "ec",
        "-in",
        &ec8.display().to_string(),
        "-out",
        &sec1.display().to_string(),
    ]);
    for (cert, key, header) in [
        (&rsa_cert, &rsa1, "BEGIN RSA PRIVATE KEY"),
        (&ec_cert, &sec1, "BEGIN EC PRIVATE KEY"),
        (&ec_cert, &ec8, "BEGIN PRIVATE KEY"),
    ] {
        let pem = std::fs::read_to_string(key).expect("key");
        assert!(pem.contains(header), "{header}: {pem}");
        let server = TestServer::start_with(tls_config(TlsModeConfig::Required, cert, key)).await;
        let out = psql(&verify_full(&server, &pki, "stagesql"), "SELECT 1", None).await;
        assert!(out.status.success(), "{header}: {}", text(&out));
        server.stop().await;
    }
}

#[tokio::test]
async fn unusable_certificates_stop_startup_naming_the_file() {
    let pki = Pki::new();
    let (key, key_pem) = pki.ec_key("server");
    let cert = pki.leaf("server", &key_pem);
    let (other_key, _) = pki.ec_key("other");
    let garbage = pki.path("garbage.pem");
    std::fs::write(&garbage, "not a certificate\n").expect("write");
    let missing = pki.path("missing.pem");
    for (cert, key, named) in [
        (&missing, &key, &missing),
        (&garbage, &key, &garbage),
        (&cert, &garbage, &garbage),
        (&cert, &other_key, &other_key),
    ] {
        let mut config = tls_config(TlsModeConfig::Optional, cert, key);
        config.server.listen = "127.0.0.1:0".to_owned();
        let err = stagesql_server::start(config)
            .await
            .expect_err("startup refuses an unusable certificate")
            .to_string();
        assert!(
            err.contains(&named.display().to_string()),
            "error should name {}: {err}",
            named.display()
        );
    }
}

fn conn_as(server: &TestServer, user: &str, password: &str) -> String {
    format!(
        "host=127.0.0.1 port={} user={user} password='{password}' dbname=stagesql",
        server.port()
    )
}

#[tokio::test]
async fn scram_logs_in_with_the_right_password_only() {
    let alice = stagesql_wire_verifier("wonderland");
    let bob = stagesql_wire_verifier("builder");
    let server = TestServer::start_with(scram_config(&[("alice", &alice), ("bob", &bob)])).await;

    let (client, conn) = tokio_postgres::connect(&conn_as(&server, "alice", "wonderland"), NoTls)
        .await
        .expect("the right password logs in");
    tokio::spawn(conn);
    let row = client
        .query_one(
            "SELECT current_user, count(*) FROM aws.apigatewayv2_stage",
            &[],
        )
        .await
        .expect("query");
    assert_eq!(row.get::<_, String>(0), "alice");
    assert_eq!(row.get::<_, i64>(1), 50);

    // bob is a role too: the catalog and the privilege functions know every user.
    let (bob_client, conn) = tokio_postgres::connect(&conn_as(&server, "bob", "builder"), NoTls)
        .await
        .expect("bob logs in");
    tokio::spawn(conn);
    let rows = bob_client
        .simple_query(
            "SELECT rolname FROM pg_roles WHERE rolcanlogin ORDER BY oid; \
             SELECT has_table_privilege(current_user, 'aws.apigatewayv2_stage', 'SELECT'), \
             pg_get_userbyid(c.relowner), current_user::regrole::oid <> 10 \
             FROM pg_class c WHERE c.relname = 'apigatewayv2_stage'",
        )
        .await
        .expect("catalog queries as bob");
    assert_eq!(
        stagesql_tests::simple_rows(&rows),
        vec![
            vec![Some("alice".to_owned())],
            vec![Some("bob".to_owned())],
            vec![
                Some("t".to_owned()),
                Some("alice".to_owned()),
                Some("t".to_owned())
            ],
        ]
    );

    // A wrong password and an unknown user: 28P01, the same message, after the delay.
    let mut messages = Vec::new();
    for (user, password) in [("alice", "looking-glass"), ("mallory", "wonderland")] {
        let started = Instant::now();
        let err = tokio_postgres::connect(&conn_as(&server, user, password), NoTls)
            .await
            .err()
            .expect("refused");
        assert!(started.elapsed() >= Duration::from_millis(300), "no delay");
        assert_eq!(sqlstate(&err), "28P01", "{err}");
        let db = err.as_db_error().expect("a server error");
        assert_eq!(db.severity(), "FATAL");
        messages.push(db.message().replace(user, "USER"));
    }
    assert_eq!(messages[0], messages[1]);
    assert_eq!(
        messages[0],
        "password authentication failed for user \"USER\""
    );

    // No password at all: libpq-style clients fail before sending one.
    let err = tokio_postgres::connect(
        &format!(
            "host=127.0.0.1 port={} user=alice dbname=stagesql",
            server.port()
        ),
        NoTls,
    )
    .await
    .err()
    .expect("a password is needed");
    assert!(format!("{err:?}").contains("password"), "{err:?}");

    // psql too, and the first client is still being served.
    let out = psql(
        &server.conn_str_as("alice", "stagesql"),
        "SELECT 1",
        Some("wonderland"),
    )
    .await;
    assert!(out.status.success(), "{}", text(&out));
    let out = psql(
        &server.conn_str_as("alice", "stagesql"),
        "SELECT 1",
        Some("nope"),
    )
    .await;
    assert!(
        text(&out).contains("password authentication failed"),
        "{}",
        text(&out)
    );
    client.simple_query("SELECT 1").await.expect("still served");
    server.stop().await;
}

fn stagesql_wire_verifier(password: &str) -> String {
    // What `stagesql hash-password` prints (tests/cli.rs runs the subcommand itself).
    stagesql_wire::ScramVerifier::from_password(password).to_text()
}

#[tokio::test]
async fn a_verifier_made_by_postgresql_works() {
    // CREATE ROLE pgverifier PASSWORD 'correct horse battery staple' on PostgreSQL 15, then
    // SELECT rolpassword FROM pg_authid.
    let verifier = "SCRAM-SHA-256$4096:kmcs4uwukgQ7GIU6fyFasA==$aXOV0Bk5LGQPmo7P+tphYhKKKwsZ6gRbTNCjjusSyFQ=:0aOdydQT65rzMrorssQguX3lS7yjaFod3uafbVbniFs=";
    let server = TestServer::start_with(scram_config(&[("pgverifier", verifier)])).await;
    let out = psql(
        &server.conn_str_as("pgverifier", "stagesql"),
        "SELECT current_user",
        Some("correct horse battery staple"),
    )
    .await;
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "pgverifier");
    server.stop().await;
}

#[tokio::test]
async fn scram_over_tls_uses_channel_binding() {
    let pki = Pki::new();
    let (key, key_pem) = pki.ec_key("server");
    let cert = pki.leaf("server", &key_pem);
    let verifier = stagesql_wire_verifier("bound");
    let mut config = scram_config(&[("carol", &verifier)]);
    config.tls.mode = TlsModeConfig::Required;
    config.tls.cert_file = Some(cert);
    config.tls.key_file = Some(key);
    let server = TestServer::start_with(config).await;
    let conn = format!(
        "{} channel_binding=require",
        verify_full(&server, &pki, "carol")
    );
    let out = psql(&conn, "SELECT current_user", Some("bound")).await;
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "carol");
    let out = psql(&conn, "SELECT 1", Some("unbound")).await;
    assert!(
        text(&out).contains("password authentication failed"),
        "{}",
        text(&out)
    );
    server.stop().await;
}

#[tokio::test]
async fn direct_tls_with_alpn_is_accepted() {
    use tokio_rustls::rustls;
    let pki = Pki::new();
    let (key, key_pem) = pki.ec_key("server");
    let cert = pki.leaf("server", &key_pem);
    let server = TestServer::start_with(tls_config(TlsModeConfig::Required, &cert, &key)).await;

    let mut roots = rustls::RootCertStore::empty();
    let ca = std::fs::read(pki.path("ca.pem")).expect("ca");
    for c in rustls_pemfile_certs(&ca) {
        roots.add(c).expect("add root");
    }
    let mut client = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("versions")
    .with_root_certificates(roots)
    .with_no_client_auth();
    client.alpn_protocols = vec![b"postgresql".to_vec()];
    let connector = tokio_rustls::TlsConnector::from(Arc::new(client));
    let tcp = tokio::net::TcpStream::connect(("127.0.0.1", server.port()))
        .await
        .expect("connect");
    let name = rustls::pki_types::ServerName::try_from("localhost").expect("name");
    let mut tls = connector
        .connect(name, tcp)
        .await
        .expect("direct TLS handshake");
    // StartupMessage: protocol 3.0, user, database.
    let mut body = Vec::new();
    body.extend_from_slice(&196_608i32.to_be_bytes());
    for s in ["user", "stagesql", "database", "stagesql", ""] {
        body.extend_from_slice(s.as_bytes());
        body.push(0);
    }
    let mut msg = ((body.len() + 4) as i32).to_be_bytes().to_vec();
    msg.extend_from_slice(&body);
    tls.write_all(&msg).await.expect("send startup");
    let mut head = [0u8; 9];
    tls.read_exact(&mut head).await.expect("read reply");
    assert_eq!(head[0], b'R', "AuthenticationOk expected, got {head:?}");
    assert_eq!(&head[5..9], &[0, 0, 0, 0], "AuthenticationOk");
    server.stop().await;
}

fn rustls_pemfile_certs(
    pem: &[u8],
) -> Vec<tokio_rustls::rustls::pki_types::CertificateDer<'static>> {
    use tokio_rustls::rustls::pki_types::pem::PemObject;
    tokio_rustls::rustls::pki_types::CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .expect("pem")
}
