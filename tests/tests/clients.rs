//! Client compatibility: each real client (and the replayed SQL of clients that cannot run
//! here) against the real server on the bundled demo data. The client programs live in
//! `tests/clients/` and assert what their driver sees; each prints `{"client": …, "ok": true}`
//! last and exits 0 only when every check held.
//!
//! `./tests/run.sh` installs what they need: Python drivers into the venv
//! (`STAGESQL_PYTHON`), pgjdbc and psqlODBC from Debian (`STAGESQL_PGJDBC_JAR`), node
//! modules (`STAGESQL_NODE_MODULES`). A missing client fails its test with a pointer to
//! run.sh; it is never skipped.

use std::path::{Path, PathBuf};
use std::process::Stdio;

use stagesql_server::config::{AuthMethodConfig, TlsModeConfig, UserConfig};
use stagesql_tests::TestServer;
use stagesql_tests::pki::Pki;
use tokio::process::Command;

fn clients_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("clients")
}

fn home_cache(sub: &str) -> PathBuf {
    let home = std::env::var("HOME").unwrap_or_else(|_| ".".to_owned());
    Path::new(&home).join(".cache/stagesql").join(sub)
}

fn python() -> PathBuf {
    std::env::var_os("STAGESQL_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| home_cache("venv/bin/python"))
}

fn require(path: &Path, what: &str) {
    assert!(
        path.exists(),
        "{what} not found at {} — run ./tests/run.sh, which installs it",
        path.display()
    );
}

/// Runs a client program with the server's connection settings and checks its verdict.
async fn run_client(server: &TestServer, cmd: Command, name: &str) {
    run_client_with(server, cmd, name, &[]).await;
}

/// [`run_client`] with extra environment (a password, a CA file).
async fn run_client_with(server: &TestServer, mut cmd: Command, name: &str, envs: &[(&str, &str)]) {
    cmd.env("PGHOST", "127.0.0.1")
        .env("PGPORT", server.port().to_string())
        .env("PGUSER", "stagesql")
        .env("PGDATABASE", "stagesql")
        .env_remove("PGPASSWORD")
        .envs(envs.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let out = tokio::time::timeout(std::time::Duration::from_secs(180), cmd.output())
        .await
        .unwrap_or_else(|_| panic!("{name} did not finish in 180 s"))
        .unwrap_or_else(|e| panic!("{name} did not start: {e}"));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "{name} failed ({}):\n{stdout}\n{stderr}",
        out.status
    );
    let verdict = stdout.lines().last().unwrap_or_default();
    let parsed: serde_json::Value = serde_json::from_str(verdict)
        .unwrap_or_else(|e| panic!("{name}: last line is not a verdict ({e}): {stdout}"));
    assert_eq!(
        parsed["ok"],
        serde_json::Value::Bool(true),
        "{name}: {stdout}"
    );
}

async fn python_client(script: &str, args: &[&str]) {
    let server = TestServer::start().await;
    let py = python();
    require(&py, "the test venv's python");
    let dir = clients_dir().join("python");
    let mut cmd = Command::new(&py);
    cmd.current_dir(&dir).arg(dir.join(script)).args(args);
    run_client(&server, cmd, script).await;
    server.stop().await;
}

#[tokio::test]
async fn psycopg3_text_binary_named_cursor_prepared_typeinfo() {
    python_client("psycopg3_client.py", &[]).await;
}

#[tokio::test]
async fn psycopg2_simple_protocol_hstore_named_cursor() {
    python_client("psycopg2_client.py", &[]).await;
}

#[tokio::test]
async fn asyncpg_binary_prepared_introspection_pool_reset() {
    python_client("asyncpg_client.py", &[]).await;
}

#[tokio::test]
async fn pg8000_native_and_dbapi() {
    python_client("pg8000_client.py", &[]).await;
}

#[tokio::test]
async fn sqlalchemy_reflection_on_psycopg_and_psycopg2() {
    python_client("sqlalchemy_client.py", &[]).await;
}

#[tokio::test]
async fn psqlodbc_catalog_calls_autocommit_off_and_declare_fetch() {
    python_client("odbc_client.py", &[]).await;
}

/// pgcli's completion refresher, its foreign-key query (a correlated subquery over
/// `unnest(conkey)` inside `unnest()`) included.
#[tokio::test]
async fn pgcli_completion_refresher() {
    python_client("pgcli_client.py", &[]).await;
}

#[tokio::test]
async fn dbt_debug_docs_generate_and_show() {
    python_client("dbt_client.py", &[]).await;
}

#[tokio::test]
async fn ibis_and_pandas_read_sql_over_sqlalchemy_and_psycopg() {
    python_client("ibis_pandas_client.py", &[]).await;
}

/// ruby-pg and ActiveRecord (Debian packages): connect (with `SET intervalstyle = iso_8601`),
/// columns and primary key by reflection, a model's rows, COPY one line per message.
#[tokio::test]
async fn ruby_pg_and_activerecord() {
    let server = TestServer::start().await;
    let mut cmd = Command::new("ruby");
    cmd.arg(clients_dir().join("ruby/activerecord_client.rb"));
    run_client(&server, cmd, "activerecord").await;
    server.stop().await;
}

/// Go's lib/pq and pgx v4, built offline in GOPATH mode from Debian's Go packages.
#[tokio::test]
async fn go_lib_pq_and_pgx() {
    let gopath = std::env::var("STAGESQL_GOPATH").unwrap_or_else(|_| "/usr/share/gocode".into());
    require(
        &Path::new(&gopath).join("src/github.com/jackc/pgx/v4"),
        "pgx v4 (Debian golang-github-jackc-pgx-v4-dev)",
    );
    let build_dir = std::env::temp_dir().join(format!("stagesql-go-{}", std::process::id()));
    std::fs::create_dir_all(&build_dir).expect("go build dir");
    let binary = build_dir.join("goclient");
    let status = Command::new("go")
        .arg("build")
        .arg("-o")
        .arg(&binary)
        .arg(clients_dir().join("go/client.go"))
        .env("GO111MODULE", "off")
        .env("GOPATH", &gopath)
        .env("GOCACHE", build_dir.join("cache"))
        .env("GOFLAGS", "")
        .status()
        .await
        .expect("go runs (run ./tests/run.sh to install golang-go)");
    assert!(status.success(), "go build failed");
    let server = TestServer::start().await;
    run_client(&server, Command::new(&binary), "go").await;
    server.stop().await;
    let _ = std::fs::remove_dir_all(build_dir);
}

#[tokio::test]
async fn grafana_queries_in_binary_and_its_ping() {
    python_client("replay_client.py", &["../replay/grafana.sql", "binary"]).await;
    python_client(
        "replay_client.py",
        &["../replay/grafana_ping.sql", "simple"],
    )
    .await;
}

/// Apache Superset's SQL through psycopg2 (simple protocol): test connection, SQL Lab, time-range
/// charts with TO_TIMESTAMP. Its EXPLAIN cost estimate is checked in protocol.rs.
#[tokio::test]
async fn superset_queries() {
    python_client("replay_client.py", &["../replay/superset.sql", "simple"]).await;
}

#[tokio::test]
async fn npgsql_type_loading_batches() {
    python_client("replay_client.py", &["../replay/npgsql.sql", "simple"]).await;
    python_client("replay_client.py", &["../replay/npgsql4.sql", "pipeline"]).await;
}

/// pgjdbc: compiled with plain javac once per test process.
async fn java_classes() -> PathBuf {
    let jar = pgjdbc_jar();
    require(&jar, "pgjdbc (Debian libpostgresql-jdbc-java)");
    let out_dir = std::env::temp_dir().join(format!("stagesql-jdbc-{}", std::process::id()));
    std::fs::create_dir_all(&out_dir).expect("class dir");
    let status = Command::new("javac")
        .arg("-cp")
        .arg(&jar)
        .arg("-d")
        .arg(&out_dir)
        .arg(clients_dir().join("java/ClientCheck.java"))
        .arg(clients_dir().join("java/ScramCheck.java"))
        .status()
        .await
        .expect("javac runs (run ./tests/run.sh to install a JDK)");
    assert!(status.success(), "javac failed");
    out_dir
}

fn pgjdbc_jar() -> PathBuf {
    std::env::var_os("STAGESQL_PGJDBC_JAR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/share/java/postgresql.jar"))
}

async fn java_client(replays: &[&str]) {
    let classes = java_classes().await;
    let server = TestServer::start().await;
    let classpath = format!("{}:{}", pgjdbc_jar().display(), classes.display());
    let mut cmd = Command::new("java");
    cmd.arg("-cp")
        .arg(classpath)
        .arg("ClientCheck")
        .arg("127.0.0.1")
        .arg(server.port().to_string())
        .arg("stagesql")
        .arg("stagesql");
    for r in replays {
        cmd.arg(clients_dir().join("replay").join(r));
    }
    run_client(&server, cmd, "pgjdbc").await;
    server.stop().await;
    let _ = std::fs::remove_dir_all(classes);
}

#[tokio::test]
async fn pgjdbc_metadata_prepared_fetch_size_simple_mode_and_metabase() {
    java_client(&["metabase.sql"]).await;
}

#[tokio::test]
async fn dbeaver_navigator_queries_through_pgjdbc() {
    java_client(&["dbeaver.sql"]).await;
}

fn node_modules() -> PathBuf {
    let modules = std::env::var_os("STAGESQL_NODE_MODULES")
        .map(PathBuf::from)
        .unwrap_or_else(|| home_cache("node"));
    require(&modules.join("node_modules/pg"), "npm package pg");
    require(
        &modules.join("node_modules/postgres"),
        "npm package postgres",
    );
    modules
}

#[tokio::test]
async fn node_pg_and_postgres_js() {
    let server = TestServer::start().await;
    let modules = node_modules();
    let mut cmd = Command::new("node");
    cmd.env("NODE_PATH", &modules)
        .arg(clients_dir().join("node/client.mjs"));
    run_client(&server, cmd, "node").await;
    server.stop().await;
}

/// A server that requires TLS and SCRAM for the user `stagesql`, with its CA file.
async fn scram_tls_server(password: &str) -> (TestServer, Pki) {
    let pki = Pki::new();
    let (key, key_pem) = pki.ec_key("server");
    let cert = pki.leaf("server", &key_pem);
    let mut config = stagesql_tests::trust_config();
    config.auth.method = AuthMethodConfig::ScramSha256;
    config.auth.failure_delay_ms = 50;
    config.auth.users = vec![UserConfig {
        name: "stagesql".to_owned(),
        verifier: Some(stagesql_wire::ScramVerifier::from_password(password).to_text()),
        password_env: None,
    }];
    config.tls.mode = TlsModeConfig::Required;
    config.tls.cert_file = Some(cert);
    config.tls.key_file = Some(key);
    (TestServer::start_with(config).await, pki)
}

/// Four Python SCRAM/TLS implementations (libpq through psycopg and psycopg2 with channel
/// binding, asyncpg, pg8000) log in, and are refused with 28P01 on a wrong password.
#[tokio::test]
async fn python_drivers_log_in_with_scram_over_tls() {
    let password = "py-secret-1";
    let (server, pki) = scram_tls_server(password).await;
    let py = python();
    require(&py, "the test venv's python");
    let dir = clients_dir().join("python");
    let mut cmd = Command::new(&py);
    cmd.current_dir(&dir).arg(dir.join("scram_tls_client.py"));
    let ca = pki.path("ca.pem").display().to_string();
    run_client_with(
        &server,
        cmd,
        "scram_tls_client.py",
        &[("PGPASSWORD", password), ("STAGESQL_CA", &ca)],
    )
    .await;
    server.stop().await;
}

/// node-postgres and postgres.js, each with its own SCRAM code, over TLS.
#[tokio::test]
async fn node_drivers_log_in_with_scram_over_tls() {
    let password = "node-secret-2";
    let (server, pki) = scram_tls_server(password).await;
    let modules = node_modules();
    let mut cmd = Command::new("node");
    cmd.env("NODE_PATH", &modules)
        .arg(clients_dir().join("node/scram.mjs"));
    let ca = pki.path("ca.pem").display().to_string();
    run_client_with(
        &server,
        cmd,
        "node scram",
        &[("PGPASSWORD", password), ("STAGESQL_CA", &ca)],
    )
    .await;
    server.stop().await;
}

/// pgjdbc's bundled SCRAM over TLS with sslmode=verify-full.
#[tokio::test]
async fn pgjdbc_logs_in_with_scram_over_tls() {
    let classes = java_classes().await;
    let password = "jdbc-secret-3";
    let (server, pki) = scram_tls_server(password).await;
    let classpath = format!("{}:{}", pgjdbc_jar().display(), classes.display());
    let mut cmd = Command::new("java");
    cmd.arg("-cp")
        .arg(classpath)
        .arg("ScramCheck")
        .arg("127.0.0.1")
        .arg(server.port().to_string())
        .arg("stagesql")
        .arg("stagesql")
        .arg(pki.path("ca.pem"));
    run_client_with(&server, cmd, "pgjdbc scram", &[("PGPASSWORD", password)]).await;
    server.stop().await;
}
