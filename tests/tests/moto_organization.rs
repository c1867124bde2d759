//! Organization-wide inventory against moto_server: one config block (a management account's
//! credentials and a member role name) serves every active account of the organization in
//! every enabled region its patterns pick, and follows accounts joining and leaving.
//!
//! moto does not check that a member role exists, so a refused AssumeRole is tested against
//! the stub (`discovery.rs`).

use std::collections::BTreeSet;
use std::time::Duration;

use aws_sdk_apigatewayv2 as apigw;
use aws_sdk_organizations as orgs;
use stagesql_catalog::SnapshotStore;
use stagesql_catalog::aws::{AccountSpec, AwsSourceConfig, OrganizationSpec, set_up};
use stagesql_catalog::refresh::Crawler;
use stagesql_server::config::OrganizationConfig;
use stagesql_tests::TestServer;
use stagesql_tests::moto::Moto;
use tokio_postgres::Client;

const ROLE: &str = "stagesql-reader";
const MANAGEMENT: &str = "123456789012";

fn source(moto: &Moto) -> AwsSourceConfig {
    let mut cfg = AwsSourceConfig::new(Vec::new(), vec!["us-*".into(), "eu-west-1".into()]);
    cfg.endpoint_url = Some(moto.url());
    cfg.max_attempts = 2;
    cfg.requests_per_second = 1000.0;
    cfg.burst = 100;
    cfg.discovery_requests_per_second = 1000.0;
    cfg.static_credentials = Some(("testing".into(), "testing".into()));
    cfg.organization = Some(OrganizationSpec {
        member_role_name: ROLE.into(),
        session_name: "stagesql-test".into(),
        ..Default::default()
    });
    cfg
}

/// Creates an HTTP API with one stage named `stage` in `account`'s `region`.
async fn api_with_stage(cfg: &AwsSourceConfig, account: &str, region: &str, stage: &str) {
    let spec = AccountSpec::AssumeRole {
        role_arn: format!("arn:aws:iam::{account}:role/{ROLE}"),
        external_id: None,
        session_name: "seed".into(),
    };
    let acct = set_up(cfg, &spec).await.expect("assume into the member");
    assert_eq!(acct.account_id, account);
    let client = apigw::Client::from_conf(
        apigw::config::Builder::from(acct.sdk_config())
            .region(aws_config::Region::new(region.to_owned()))
            .build(),
    );
    let id = client
        .create_api()
        .name(format!("{stage}-api"))
        .protocol_type(apigw::types::ProtocolType::Http)
        .send()
        .await
        .expect("create_api")
        .api_id()
        .expect("id")
        .to_owned();
    client
        .create_stage()
        .api_id(id)
        .stage_name(stage)
        .send()
        .await
        .expect("create_stage");
}

async fn new_account(org: &orgs::Client, name: &str) -> String {
    org.create_account()
        .email(format!("{name}@example.com"))
        .account_name(name)
        .send()
        .await
        .expect("create_account")
        .create_account_status()
        .and_then(|s| s.account_id())
        .expect("account id")
        .to_owned()
}

async fn keys(client: &Client) -> Option<BTreeSet<String>> {
    let rows = client
        .query(
            "SELECT account_id || '/' || region || '/' || stage_name FROM aws.apigatewayv2_stage",
            &[],
        )
        .await
        .ok()?;
    Some(rows.iter().map(|r| r.get::<_, String>(0)).collect())
}

async fn wait_for_keys(client: &Client, want: &BTreeSet<String>) {
    let mut last = None;
    for _ in 0..200 {
        last = keys(client).await;
        if last.as_ref() == Some(want) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("table never showed {want:?}; last saw {last:?}");
}

/// The accounts one refresh of `cfg` serves rows of.
async fn crawled_accounts(cfg: AwsSourceConfig) -> BTreeSet<String> {
    let store = std::sync::Arc::new(SnapshotStore::new());
    Crawler::new(cfg, 16).refresh(&store).await;
    store
        .current()
        .expect("published")
        .rows()
        .map(|r| r.account_id)
        .collect()
}

fn set(items: &[String]) -> BTreeSet<String> {
    items.iter().cloned().collect()
}

#[tokio::test]
async fn one_block_serves_every_active_account_and_follows_the_organization() {
    let moto = Moto::start();
    let cfg = source(&moto);
    let base = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("us-east-1"))
        .endpoint_url(moto.url())
        .credentials_provider(orgs::config::Credentials::new(
            "testing", "testing", None, None, "t",
        ))
        .load()
        .await;
    let org = orgs::Client::new(&base);
    org.create_organization()
        .feature_set(orgs::types::OrganizationFeatureSet::All)
        .send()
        .await
        .expect("create_organization");
    let root = org.list_roots().send().await.expect("roots").roots()[0]
        .id()
        .expect("root id")
        .to_owned();
    let ou = org
        .create_organizational_unit()
        .parent_id(&root)
        .name("prod")
        .send()
        .await
        .expect("create OU")
        .organizational_unit()
        .and_then(|u| u.id())
        .expect("ou id")
        .to_owned();
    let a1 = new_account(&org, "alpha").await;
    let a2 = new_account(&org, "beta").await;
    let a3 = new_account(&org, "gamma").await;
    for id in [&a1, &a2] {
        org.move_account()
            .account_id(id)
            .source_parent_id(&root)
            .destination_parent_id(&ou)
            .send()
            .await
            .expect("move_account");
    }
    api_with_stage(&cfg, MANAGEMENT, "us-east-1", "mgmt").await;
    api_with_stage(&cfg, &a1, "us-east-1", "a1use1").await;
    api_with_stage(&cfg, &a1, "eu-west-1", "a1euw1").await;
    api_with_stage(&cfg, &a2, "us-west-2", "a2usw2").await;
    api_with_stage(&cfg, &a3, "us-east-2", "a3use2").await;
    // Not picked by the patterns.
    api_with_stage(&cfg, &a3, "ap-southeast-1", "a3apse1").await;

    // Include/exclude at the crawler: the OU alone, then everything but the OU.
    let mut only_ou = cfg.clone();
    if let Some(o) = only_ou.organization.as_mut() {
        o.units = vec![ou.clone()];
    }
    assert_eq!(
        crawled_accounts(only_ou).await,
        set(&[a1.clone(), a2.clone()])
    );
    let mut not_ou = cfg.clone();
    if let Some(o) = not_ou.organization.as_mut() {
        o.exclude_units = vec![ou.clone()];
        o.exclude_accounts = vec![a3.clone()];
    }
    assert_eq!(
        crawled_accounts(not_ou).await,
        set(&[MANAGEMENT.to_owned()])
    );

    // Every enabled region ("*"): each account's whole DescribeRegions list, not opted-in
    // regions left out, the region the patterns skip included.
    let mut everywhere = cfg.clone();
    everywhere.regions = vec!["*".into()];
    let store = std::sync::Arc::new(SnapshotStore::new());
    let summary = Crawler::new(everywhere, 0).refresh(&store).await;
    let keys: BTreeSet<String> = store
        .current()
        .expect("published")
        .rows()
        .map(|r| format!("{}/{}/{}", r.account_id, r.region, r.stage_name))
        .collect();
    assert!(
        keys.contains(&format!("{a3}/ap-southeast-1/a3apse1")),
        "{keys:?}"
    );
    assert_eq!(keys.len(), 6, "{keys:?}");
    let all = store.status().all();
    let crawled: BTreeSet<&str> = all
        .iter()
        .filter(|s| s.account_id == a1 && s.region != "*")
        .map(|s| s.region.as_str())
        .collect();
    assert!(
        crawled.contains("eu-west-1") && crawled.contains("ap-southeast-1"),
        "{crawled:?}"
    );
    assert!(
        !crawled.contains("eu-south-2"),
        "not opted in: not crawled, not listed"
    );
    assert_eq!(summary.ok, 4 * crawled.len(), "{summary:?}");
    assert_eq!((summary.failed, summary.skipped), (0, 0), "{summary:?}");

    // The server, configured by one block.
    let mut config =
        stagesql_tests::aws_source_config(moto.url(), &["us-*", "eu-west-1", "eu-south-2"]);
    config.source.organization = Some(OrganizationConfig {
        member_role_name: ROLE.into(),
        ..Default::default()
    });
    config.source.refresh_interval_seconds = 1;
    config.source.max_attempts = 2;
    let server = TestServer::start_with(config).await;
    let client = server.client().await;
    let k = |a: &str, r: &str, s: &str| format!("{a}/{r}/{s}");
    let mut want = set(&[
        k(MANAGEMENT, "us-east-1", "mgmt"),
        k(&a1, "us-east-1", "a1use1"),
        k(&a1, "eu-west-1", "a1euw1"),
        k(&a2, "us-west-2", "a2usw2"),
        k(&a3, "us-east-2", "a3use2"),
    ]);
    wait_for_keys(&client, &want).await;

    // Every (account, region) says what happened: ok for the enabled regions the patterns
    // pick, skipped (with the reason) for the named region that is not enabled.
    let rows = client
        .query(
            "SELECT account_id, region, status, error FROM stagesql.refresh_status ORDER BY 1, 2",
            &[],
        )
        .await
        .expect("refresh_status");
    let statuses: Vec<(String, String, String, Option<String>)> = rows
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3)))
        .collect();
    for account in [MANAGEMENT, &a1, &a2, &a3] {
        let mine: Vec<_> = statuses.iter().filter(|s| s.0 == account).collect();
        assert!(
            mine.iter().any(|s| s.1 == "eu-south-2"
                && s.2 == "skipped"
                && s.3.as_deref().is_some_and(|e| e.contains("not-opted-in"))),
            "{mine:?}"
        );
        assert!(
            mine.iter().any(|s| s.1 == "us-west-2" && s.2 == "ok"),
            "{mine:?}"
        );
        assert!(mine.iter().any(|s| s.1 == "*" && s.2 == "ok"), "{mine:?}");
        assert!(!mine.iter().any(|s| s.1 == "ap-southeast-1"), "{mine:?}");
        assert!(!mine.iter().any(|s| s.2 == "failed"), "{mine:?}");
    }
    assert!(
        statuses
            .iter()
            .any(|s| s.0 == "organization" && s.2 == "ok")
    );

    // A new account appears at the next refresh; one removed from the organization goes.
    let a4 = new_account(&org, "delta").await;
    api_with_stage(&cfg, &a4, "us-east-1", "a4use1").await;
    want.insert(k(&a4, "us-east-1", "a4use1"));
    wait_for_keys(&client, &want).await;
    org.remove_account_from_organization()
        .account_id(&a2)
        .send()
        .await
        .expect("remove_account_from_organization");
    want.remove(&k(&a2, "us-west-2", "a2usw2"));
    wait_for_keys(&client, &want).await;
    let gone: i64 = client
        .query_one(
            "SELECT count(*) FROM stagesql.refresh_status WHERE account_id = $1",
            &[&a2],
        )
        .await
        .expect("count")
        .get(0);
    assert_eq!(gone, 0, "an account that left has no status rows either");
    server.stop().await;
}
