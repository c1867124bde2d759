//! The live source against moto_server: 2 accounts (one by AssumeRole) × 2 regions, HTTP and
//! WebSocket APIs; the table must show exactly what was created, then follow changes.

use std::collections::BTreeSet;
use std::time::Duration;

use apigw::types::{AccessLogSettings, ProtocolType, RouteSettings};
use aws_sdk_apigatewayv2 as apigw;
use stagesql_catalog::aws::{AccountSpec, AwsSourceConfig, set_up};
use stagesql_server::config::AccountConfig;
use stagesql_tests::TestServer;
use stagesql_tests::moto::Moto;
use tokio_postgres::{Client, SimpleQueryMessage};

const ROLE: &str = "arn:aws:iam::111111111111:role/inventory-reader";

fn client_for(sdk: &aws_config::SdkConfig, region: &str) -> apigw::Client {
    apigw::Client::from_conf(
        apigw::config::Builder::from(sdk)
            .region(aws_config::Region::new(region.to_owned()))
            .build(),
    )
}

async fn create_api(c: &apigw::Client, name: &str, ws: bool) -> String {
    let mut req = c.create_api().name(name).protocol_type(if ws {
        ProtocolType::Websocket
    } else {
        ProtocolType::Http
    });
    if ws {
        req = req.route_selection_expression("$request.body.action");
    }
    req.send()
        .await
        .expect("create_api")
        .api_id()
        .expect("api id")
        .to_owned()
}

async fn rows(client: &Client, sql: &str) -> Vec<Vec<Option<String>>> {
    stagesql_tests::simple_rows(&client.simple_query(sql).await.expect("query"))
}

async fn keys(client: &Client) -> Option<BTreeSet<String>> {
    let msgs = client
        .simple_query(
            "SELECT account_id || '/' || region || '/' || stage_name FROM aws.apigatewayv2_stage",
        )
        .await
        .ok()?;
    Some(
        msgs.iter()
            .filter_map(|m| match m {
                SimpleQueryMessage::Row(r) => r.get(0).map(str::to_owned),
                _ => None,
            })
            .collect(),
    )
}

async fn wait_for_keys(client: &Client, want: &BTreeSet<String>) {
    let mut last = None;
    for _ in 0..150 {
        last = keys(client).await;
        if last.as_ref() == Some(want) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("table never showed {want:?}; last saw {last:?}");
}

#[tokio::test]
async fn table_equals_what_moto_holds_and_follows_changes() {
    let moto = Moto::start();
    let mut source = AwsSourceConfig::new(
        vec![
            AccountSpec::Default,
            AccountSpec::AssumeRole {
                role_arn: ROLE.into(),
                external_id: None,
                session_name: "stagesql-test".into(),
            },
        ],
        vec!["us-east-1".into(), "eu-west-1".into()],
    );
    source.endpoint_url = Some(moto.url());
    source.max_attempts = 2;
    source.requests_per_second = 1000.0;
    source.burst = 100;
    source.static_credentials = Some(("testing".into(), "testing".into()));
    let mut accounts = Vec::new();
    for spec in &source.accounts {
        accounts.push(set_up(&source, spec).await.expect("account"));
    }
    assert_eq!(accounts[0].account_id, "123456789012");
    assert_eq!(accounts[1].account_id, "111111111111");

    let us = client_for(accounts[0].sdk_config(), "us-east-1");
    let orders = create_api(&us, "orders-http", false).await;
    us.create_stage()
        .api_id(&orders)
        .stage_name("prod")
        .description("production stage")
        .auto_deploy(true)
        .access_log_settings(
            AccessLogSettings::builder()
                .destination_arn("arn:aws:logs:us-east-1:123456789012:log-group:apigw-access")
                .format("$context.requestId")
                .build(),
        )
        .default_route_settings(
            RouteSettings::builder()
                .detailed_metrics_enabled(true)
                .throttling_burst_limit(100)
                .throttling_rate_limit(50.0)
                .build(),
        )
        .route_settings(
            "GET /orders",
            RouteSettings::builder()
                .detailed_metrics_enabled(false)
                .throttling_burst_limit(10)
                .throttling_rate_limit(5.5)
                .build(),
        )
        .stage_variables("lambdaAlias", "live")
        .stage_variables("quote", "say \"hi\"")
        .tags("env", "prod")
        .tags("owner", "a,b")
        .send()
        .await
        .expect("create prod");
    us.create_stage()
        .api_id(&orders)
        .stage_name("$default")
        .send()
        .await
        .expect("create $default");
    let chat = create_api(&us, "chat-ws", true).await;
    us.create_stage()
        .api_id(&chat)
        .stage_name("dev")
        .client_certificate_id("abc123")
        .default_route_settings(
            RouteSettings::builder()
                .data_trace_enabled(true)
                .logging_level(apigw::types::LoggingLevel::Info)
                .build(),
        )
        .send()
        .await
        .expect("create dev");
    let eu = client_for(accounts[0].sdk_config(), "eu-west-1");
    let notify = create_api(&eu, "notify-ws", true).await;
    eu.create_stage()
        .api_id(&notify)
        .stage_name("v1")
        .send()
        .await
        .expect("create v1");
    let other = client_for(accounts[1].sdk_config(), "us-east-1");
    let billing = create_api(&other, "billing-http", false).await;
    other
        .create_stage()
        .api_id(&billing)
        .stage_name("b1")
        .tags("team", "billing")
        .send()
        .await
        .expect("create b1");

    let mut config = stagesql_tests::aws_source_config(moto.url(), &[]);
    config.source.regions = source.regions.clone();
    config.source.accounts = vec![
        AccountConfig::default(),
        AccountConfig {
            role_arn: Some(ROLE.into()),
            ..Default::default()
        },
    ];
    config.source.refresh_interval_seconds = 1;
    config.source.max_attempts = 2;
    let server = TestServer::start_with(config).await;
    let client = server.client().await;
    let want: BTreeSet<String> = [
        "123456789012/us-east-1/prod",
        "123456789012/us-east-1/$default",
        "123456789012/us-east-1/dev",
        "123456789012/eu-west-1/v1",
        "111111111111/us-east-1/b1",
    ]
    .into_iter()
    .map(str::to_owned)
    .collect();
    wait_for_keys(&client, &want).await;

    // Column by column, as created.
    let prod = rows(
        &client,
        "SELECT _key, access_log_settings, account_id, api_gateway_managed, auto_deploy, client_certificate_id, \
         created_date IS NOT NULL, default_route_settings, deployment_id, description, last_deployment_status_message, \
         last_updated_date IS NOT NULL, route_settings, stage_arn, stage_name, stage_variables, tags, region, api_id \
         FROM aws.apigatewayv2_stage WHERE stage_name = 'prod'",
    )
    .await;
    let arn = format!("arn:aws:apigateway:us-east-1::/apis/{orders}/stages/prod");
    let s = |v: &str| Some(v.to_owned());
    assert_eq!(
        prod,
        vec![vec![
            s(&arn),
            s(
                r#"{"destination_arn":"arn:aws:logs:us-east-1:123456789012:log-group:apigw-access","format":"$context.requestId"}"#
            ),
            s("123456789012"),
            None,
            s("t"),
            None,
            s("t"),
            s(
                r#"{"detailed_metrics_enabled":true,"throttling_burst_limit":100,"throttling_rate_limit":50.0}"#
            ),
            None,
            s("production stage"),
            None,
            s("t"),
            s(
                r#"{"GET /orders":{"detailed_metrics_enabled":false,"throttling_burst_limit":10,"throttling_rate_limit":5.5}}"#
            ),
            s(&arn),
            s("prod"),
            s(r#""quote"=>"say \"hi\"", "lambdaAlias"=>"live""#),
            s(r#""env"=>"prod", "owner"=>"a,b""#),
            s("us-east-1"),
            s(&orders),
        ]]
    );
    let dev = rows(
        &client,
        "SELECT client_certificate_id, default_route_settings ->> 'logging_level', stage_variables, tags, auto_deploy \
         FROM aws.apigatewayv2_stage WHERE stage_name = 'dev'",
    )
    .await;
    assert_eq!(dev, vec![vec![s("abc123"), s("INFO"), s(""), s(""), None]]);
    let b1 = rows(&client, "SELECT account_id, tags -> 'team', stage_arn FROM aws.apigatewayv2_stage WHERE stage_name = 'b1'").await;
    assert_eq!(
        b1,
        vec![vec![
            s("111111111111"),
            s("billing"),
            s(&format!(
                "arn:aws:apigateway:us-east-1::/apis/{billing}/stages/b1"
            ))
        ]]
    );

    // Changes in AWS show after the next refresh: a new stage, a deleted stage, a deleted API.
    us.create_stage()
        .api_id(&orders)
        .stage_name("canary")
        .send()
        .await
        .expect("create canary");
    us.delete_stage()
        .api_id(&orders)
        .stage_name("$default")
        .send()
        .await
        .expect("delete $default");
    eu.delete_api()
        .api_id(&notify)
        .send()
        .await
        .expect("delete notify");
    let want: BTreeSet<String> = [
        "123456789012/us-east-1/prod",
        "123456789012/us-east-1/canary",
        "123456789012/us-east-1/dev",
        "111111111111/us-east-1/b1",
    ]
    .into_iter()
    .map(str::to_owned)
    .collect();
    wait_for_keys(&client, &want).await;
    server.stop().await;
}
