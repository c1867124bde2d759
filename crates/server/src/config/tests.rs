//! Config parsing, layering and validation.

use super::*;

fn trusting() -> Config {
    let mut c = Config::default();
    c.auth.method = AuthMethodConfig::Trust;
    c
}

#[test]
fn empty_file_is_all_defaults() {
    assert_eq!(Config::from_toml("").expect("valid"), Config::default());
    // SCRAM is the default, and it needs a user.
    let err = Config::default()
        .validate()
        .expect_err("no users")
        .to_string();
    assert!(err.contains("auth.users"), "{err}");
    trusting().validate().expect("trust on loopback is valid");
}

fn env(vars: &[(&str, &str)]) -> Vec<(String, String)> {
    vars.iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

#[test]
fn environment_overrides_the_file_and_names_itself_in_errors() {
    let dir = tempfile::tempdir().expect("tmp");
    let file = dir.path().join("c.toml");
    std::fs::write(
        &file,
        "[limits]\nmax_connections = 7\nstatement_timeout = \"5s\"\n",
    )
    .expect("write");
    let c = Config::load(
        Some(&file),
        env(&[
            ("STAGESQL__LIMITS__MAX_CONNECTIONS", "9"),
            ("STAGESQL__LIMITS__STATEMENT_TIMEOUT", "0"),
            ("STAGESQL__SERVER__LISTEN", "127.0.0.1:6000"),
            ("STAGESQL__AUTH__METHOD", "trust"),
            (
                "STAGESQL__SOURCE__REGIONS",
                "[\"eu-west-1\", \"us-east-1\"]",
            ),
            ("UNRELATED", "x"),
        ]),
    )
    .expect("loads");
    assert_eq!(c.limits.max_connections, 9, "env beats the file");
    assert_eq!(
        c.limits.statement_timeout, "0",
        "a number read as the string it is"
    );
    assert_eq!(c.server.listen, "127.0.0.1:6000");
    assert_eq!(c.source.regions, vec!["eu-west-1", "us-east-1"]);
    assert_eq!(c.auth.method, AuthMethodConfig::Trust);
    let file_only = Config::load(Some(&file), env(&[])).expect("loads");
    assert_eq!(
        file_only.limits.max_connections, 7,
        "the file beats defaults"
    );

    let err = Config::load(None, env(&[("STAGESQL__LIMITS__MAX_CONNECTIONS", "many")]))
        .expect_err("not a number")
        .to_string();
    assert!(
        err.contains("STAGESQL__LIMITS__MAX_CONNECTIONS") && err.contains("limits.max_connections"),
        "{err}"
    );
    let err = Config::load(None, env(&[("STAGESQL__LIMITS__NO_SUCH_KEY", "1")]))
        .expect_err("unknown key")
        .to_string();
    assert!(
        err.contains("STAGESQL__LIMITS__NO_SUCH_KEY") || err.contains("no_such_key"),
        "{err}"
    );
    let err = Config::load(None, env(&[("STAGESQL__LISTEN", "x")]))
        .expect_err("no section")
        .to_string();
    assert!(err.contains("STAGESQL__SECTION__KEY"), "{err}");
}

#[test]
fn check_config_output_masks_secrets_and_reads_back() {
    let verifier = stagesql_wire::ScramVerifier::from_password("pw").to_text();
    let mut c = Config::default();
    c.auth.users.push(UserConfig {
        name: "a".to_owned(),
        verifier: Some(verifier.clone()),
        password_env: None,
    });
    c.source.emulator_credentials = Some(["id".to_owned(), "very-secret".to_owned()]);
    let text = c.to_masked_toml();
    assert!(
        !text.contains(&verifier) && !text.contains("very-secret"),
        "{text}"
    );
    assert!(text.contains("<redacted>"), "{text}");
    let back = Config::from_toml(&text).expect("the printed config parses");
    assert_eq!(back.auth.users[0].name, "a");
}

#[test]
fn trust_is_refused_off_loopback() {
    for (listen, ok) in [
        ("127.0.0.1:5433", true),
        ("127.10.0.1:5433", true),
        ("[::1]:5433", true),
        ("localhost:5433", true),
        ("0.0.0.0:5433", false),
        ("[::]:5433", false),
        ("10.0.0.5:5433", false),
        ("db.example.com:5433", false),
    ] {
        let mut c = trusting();
        c.server.listen = listen.to_owned();
        match c.validate() {
            Ok(()) => assert!(ok, "{listen} should be refused"),
            Err(e) => {
                assert!(!ok, "{listen}: {e}");
                assert!(e.to_string().contains("auth.method"), "{e}");
            }
        }
    }
}

#[test]
fn users_need_one_secret_and_it_is_never_printed() {
    let verifier = stagesql_wire::ScramVerifier::from_password("s3cret-pw").to_text();
    let c = Config::from_toml(&format!(
        "[[auth.users]]\nname = \"alice\"\nverifier = \"{verifier}\"\n"
    ))
    .expect("parses");
    c.validate().expect("valid");
    assert!(
        !format!("{c:?}").contains(&verifier),
        "Debug shows the verifier"
    );
    for (toml, key) in [
        ("[[auth.users]]\nname = \"a\"\n", "auth.users"),
        (
            "[[auth.users]]\nname = \"a\"\nverifier = \"md5deadbeef\"\n",
            "auth.users.verifier",
        ),
        (
            "[[auth.users]]\nname = \"a\"\npassword_env = \"X\"\n[[auth.users]]\nname = \"a\"\npassword_env = \"Y\"\n",
            "auth.users.name",
        ),
        ("[tls]\nmode = \"required\"\n", "tls.cert_file"),
    ] {
        let mut c = Config::from_toml(toml).expect(toml);
        if c.auth.users.is_empty() {
            c.auth.method = AuthMethodConfig::Trust;
        }
        let err = c.validate().expect_err(toml).to_string();
        assert!(err.contains(key), "{toml}: {err}");
    }
    let c = Config::from_toml(
        "[[auth.users]]\nname = \"a\"\npassword_env = \"STAGESQL_TEST_UNSET_VARIABLE\"\n",
    )
    .expect("parses");
    c.validate().expect("the variable is read at startup");
    let err = c.users().expect_err("unset").to_string();
    assert!(
        err.contains("auth.users.password_env") && err.contains("STAGESQL_TEST_UNSET_VARIABLE"),
        "{err}"
    );
}

#[test]
fn unknown_keys_and_bad_values_name_the_key() {
    let err = Config::from_toml("[server]\nlisten_on = \"x\"").expect_err("unknown key");
    assert!(err.contains("listen_on"), "{err}");
    let err = Config::from_toml("[server]\nshutdown_drain_seconds = \"ten\"").expect_err("type");
    assert!(err.contains("shutdown_drain_seconds"), "{err}");
    let mut c = trusting();
    c.server.listen = "5433".to_owned();
    let err = c.validate().expect_err("no host").to_string();
    assert!(err.contains("server.listen"), "{err}");
    let mut c = trusting();
    c.server.database = String::new();
    assert!(
        c.validate()
            .expect_err("empty")
            .to_string()
            .contains("server.database")
    );
}

#[test]
fn bad_limits_name_their_key() {
    for (edit, key) in [
        (
            (|c: &mut Config| c.limits.max_connections = 0) as fn(&mut Config),
            "limits.max_connections",
        ),
        (
            |c: &mut Config| c.limits.statement_timeout = "soon".to_owned(),
            "limits.statement_timeout",
        ),
        (
            |c: &mut Config| c.limits.query_memory_mb = 2048,
            "limits.query_memory_mb",
        ),
        (
            |c: &mut Config| c.limits.startup_timeout_seconds = 0,
            "limits.startup_timeout_seconds",
        ),
    ] {
        let mut c = trusting();
        edit(&mut c);
        let err = c.validate().expect_err(key).to_string();
        assert!(err.contains(key), "{err}");
    }
    let mut c = Config::from_toml("[limits]\nstatement_timeout = \"30s\"").expect("parses");
    c.auth.method = AuthMethodConfig::Trust;
    c.validate().expect("30s is a duration");
}

#[test]
fn every_file_in_config_loads_and_validates() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config");
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).expect("config dir") {
        let path = entry.expect("entry").path();
        if path.extension().is_some_and(|e| e == "toml") {
            let config = Config::from_file(&path).unwrap_or_else(|e| panic!("{e}"));
            config
                .validate()
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            if let Some(f) = &config.source.fixture {
                assert!(
                    f.exists(),
                    "{} names a missing fixture {}",
                    path.display(),
                    f.display()
                );
            }
            seen += 1;
        }
    }
    assert!(seen >= 2, "config/ holds the demo and the example config");
}

#[test]
fn set_flags_beat_the_environment_and_name_themselves_in_errors() {
    let c = Config::load_layers(
        None,
        env(&[("STAGESQL__LIMITS__MAX_CONNECTIONS", "9")]),
        &[
            "limits.max_connections=11".to_owned(),
            "log.format=json".to_owned(),
            "source.regions=[\"eu-west-1\"]".to_owned(),
        ],
    )
    .expect("loads");
    assert_eq!(
        c.limits.max_connections, 11,
        "the flag beats the environment"
    );
    assert_eq!(c.log.format, LogFormat::Json);
    assert_eq!(c.source.regions, vec!["eu-west-1"]);

    for (flag, named) in [
        (
            "limits.max_connections=many",
            "--set limits.max_connections",
        ),
        ("limits.nonsense=1", "--set limits.nonsense"),
        ("no-equals-sign", "--set no-equals-sign"),
        ("toplevel=1", "--set toplevel"),
    ] {
        let err = Config::load_layers(None, env(&[]), &[flag.to_owned()])
            .expect_err(flag)
            .to_string();
        assert!(err.contains(named), "{flag}: {err}");
    }
}

#[test]
fn an_organization_block_is_read_and_bad_values_name_their_key() {
    let text = "[auth]\nmethod = \"trust\"\n[source]\nkind = \"aws\"\nregions = [\"us-*\", \"eu-west-1\"]\n\
                [source.organization]\nmember_role_name = \"stagesql-reader\"\n\
                organizational_units = [\"ou-ab12-cdef3456\"]\nexclude_accounts = [\"111111111111\"]\n";
    let c = Config::from_toml(text).expect("parses");
    c.validate().expect("valid");
    let aws = c.source.aws();
    let org = aws.organization.expect("organization");
    assert_eq!(org.member_role_name, "stagesql-reader");
    assert_eq!(org.session_name, "stagesql", "default session name");
    assert_eq!(org.units, ["ou-ab12-cdef3456"]);
    assert!(
        aws.accounts.is_empty(),
        "no default account beside the organization"
    );
    assert_eq!(
        org.member("aws", "222222222222"),
        stagesql_catalog::aws::AccountSpec::AssumeRole {
            role_arn: "arn:aws:iam::222222222222:role/stagesql-reader".into(),
            external_id: None,
            session_name: "stagesql".into(),
        }
    );
    for (edit, key) in [
        (
            (|c: &mut Config| {
                if let Some(o) = c.source.organization.as_mut() {
                    o.member_role_name = "role/with/path".into();
                }
            }) as fn(&mut Config),
            "source.organization.member_role_name",
        ),
        (
            |c: &mut Config| {
                if let Some(o) = c.source.organization.as_mut() {
                    o.include_accounts = vec!["12345".into()];
                }
            },
            "source.organization.include_accounts",
        ),
        (
            |c: &mut Config| {
                if let Some(o) = c.source.organization.as_mut() {
                    o.exclude_organizational_units = vec!["prod".into()];
                }
            },
            "source.organization.exclude_organizational_units",
        ),
        (
            |c: &mut Config| c.source.regions = vec!["US-EAST-1".into()],
            "source.regions",
        ),
        (
            |c: &mut Config| c.source.discovery_requests_per_second = 0.0,
            "source.discovery_requests_per_second",
        ),
    ] {
        let mut c = Config::from_toml(text).expect("parses");
        edit(&mut c);
        let err = c.validate().expect_err(key).to_string();
        assert!(err.contains(key), "{err}");
    }
    let err = Config::from_toml("[source.organization]\nmember_role = \"x\"").expect_err("unknown");
    assert!(err.contains("member_role"), "{err}");
}
