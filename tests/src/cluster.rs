//! Helpers for the scale-out tests: a crawler, replicas and a snapshot store on moto's S3.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use aws_sdk_apigatewayv2 as apigw;
use stagesql_catalog::aws::{AccountSpec, AwsSourceConfig, set_up};
use stagesql_catalog::{BUNDLED_FIXTURE, StageRow, parse_fixture};
use stagesql_server::replication::StoreOptions;
use stagesql_server::{Config, SourceKind};
use tokio_postgres::Client;

use crate::moto::Moto;

/// The bucket every scale-out test creates in its own moto.
pub const BUCKET: &str = "stagesql-snapshots";

/// How the tests reach `url` on `moto` (dummy keys, one retry).
pub fn store_options(moto: &Moto, url: &str) -> StoreOptions {
    StoreOptions {
        url: url.to_owned(),
        region: Some("us-east-1".to_owned()),
        endpoint_url: Some(moto.url()),
        static_credentials: Some(("testing".to_owned(), "testing".to_owned())),
        timeout: Duration::from_secs(30),
        max_retries: 1,
    }
}

/// A replica of `url` on the S3 at `endpoint`, polling every second.
pub fn replica_config(endpoint: &str, url: &str) -> Config {
    let mut config = crate::trust_config();
    config.source.kind = SourceKind::Replica;
    config.source.url = Some(url.to_owned());
    config.source.endpoint_url = Some(endpoint.to_owned());
    config.source.emulator_credentials = Some(["testing".to_owned(), "testing".to_owned()]);
    config.source.poll_interval_seconds = 1;
    config
}

/// A crawler of moto's us-east-1 refreshing every second and publishing to `url`.
pub fn crawler_config(moto: &Moto, url: &str) -> Config {
    let mut config = crate::aws_source_config(moto.url(), &["us-east-1"]);
    config.source.refresh_interval_seconds = 1;
    config.source.max_attempts = 2;
    config.source.attempt_timeout_seconds = 2;
    config.publish.url = Some(url.to_owned());
    config
}

/// The rows of `sql` as text, or `None` if it failed.
pub async fn text_rows(client: &Client, sql: &str) -> Option<Vec<Vec<Option<String>>>> {
    let messages = client.simple_query(sql).await.ok()?;
    Some(crate::simple_rows(&messages))
}

/// Every row of the table, in key order.
pub const ALL_ROWS: &str = "SELECT * FROM aws.apigatewayv2_stage ORDER BY _key";

/// Waits until `check` holds (polling every 100 ms, up to `limit`); panics with `what`.
pub async fn wait_until<F, Fut>(limit: Duration, what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let start = Instant::now();
    while !check().await {
        assert!(start.elapsed() < limit, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// One account in moto (the default credentials') with one HTTP API.
pub async fn moto_api(moto: &Moto) -> (apigw::Client, String) {
    let mut source = AwsSourceConfig::new(vec![AccountSpec::Default], vec!["us-east-1".into()]);
    source.endpoint_url = Some(moto.url());
    source.static_credentials = Some(("testing".into(), "testing".into()));
    let account = set_up(&source, &AccountSpec::Default)
        .await
        .expect("account");
    let client = apigw::Client::from_conf(
        apigw::config::Builder::from(account.sdk_config())
            .region(aws_config::Region::new("us-east-1"))
            .build(),
    );
    let api = client
        .create_api()
        .name("orders")
        .protocol_type(apigw::types::ProtocolType::Http)
        .send()
        .await
        .expect("create api")
        .api_id()
        .expect("id")
        .to_owned();
    (client, api)
}

/// Creates stage `name` (tagged `env = name`) in `api`.
pub async fn add_stage(client: &apigw::Client, api: &str, name: &str) {
    client
        .create_stage()
        .api_id(api)
        .stage_name(name)
        .tags("env", name)
        .send()
        .await
        .expect("create stage");
}

/// The stage names the server serves.
pub async fn stage_names(client: &Client) -> Option<BTreeSet<String>> {
    let rows = text_rows(client, "SELECT stage_name FROM aws.apigatewayv2_stage").await?;
    Some(rows.into_iter().filter_map(|mut r| r.remove(0)).collect())
}

/// `store_role`, `store_version`, `store_error`, `from_disk`, `lag_seconds` of `stagesql.snapshot_status`.
pub async fn snapshot_status(client: &Client) -> Vec<Option<String>> {
    let mut rows = text_rows(
        client,
        "SELECT store_role, store_version::text, store_error, from_disk::text, lag_seconds::text FROM stagesql.snapshot_status",
    )
    .await
    .expect("snapshot_status");
    rows.remove(0)
}

/// The bundled demo rows.
pub fn demo_rows() -> Vec<StageRow> {
    parse_fixture(BUNDLED_FIXTURE, "bundled").expect("fixture")
}

/// `count(*)` of the table as text.
pub async fn count(client: &Client) -> Option<String> {
    let mut rows = text_rows(client, "SELECT count(*) FROM aws.apigatewayv2_stage").await?;
    rows.pop()?.remove(0)
}
