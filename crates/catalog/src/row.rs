//! One rendered row of `aws.apigatewayv2_stage`, and the rules that turn an AWS [`Stage`] into it.
//!
//! Rendering happens once, when a snapshot is built, so queries only read finished values.

use chrono::{DateTime, Utc};

use crate::model::Stage;
use crate::render::{hstore_text, stage_arn};

/// Where a stage was listed: what AWS does not put in the Stage itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StageContext {
    /// The account whose credentials listed the stage.
    pub account_id: String,
    /// The region the stage was listed in.
    pub region: String,
    /// The parent API's id.
    pub api_id: String,
}

/// The values of one table row, already rendered, in column order (see [`crate::COLUMNS`]).
#[derive(Debug, Clone, PartialEq)]
pub struct StageRow {
    /// `_key`: the stage ARN.
    pub key: String,
    /// `access_log_settings` JSON text.
    pub access_log_settings: Option<String>,
    /// `account_id`.
    pub account_id: String,
    /// `api_gateway_managed`.
    pub api_gateway_managed: Option<bool>,
    /// `auto_deploy`.
    pub auto_deploy: Option<bool>,
    /// `client_certificate_id`.
    pub client_certificate_id: Option<String>,
    /// `created_date`, microseconds since the Unix epoch, UTC.
    pub created_date: Option<i64>,
    /// `default_route_settings` JSON text.
    pub default_route_settings: Option<String>,
    /// `deployment_id`.
    pub deployment_id: Option<String>,
    /// `description`.
    pub description: Option<String>,
    /// `last_deployment_status_message`.
    pub last_deployment_status_message: Option<String>,
    /// `last_updated_date`, microseconds since the Unix epoch, UTC.
    pub last_updated_date: Option<i64>,
    /// `route_settings` compact JSON text, keys sorted.
    pub route_settings: Option<String>,
    /// `stage_arn`.
    pub stage_arn: String,
    /// `stage_name`.
    pub stage_name: String,
    /// `stage_variables` hstore text.
    pub stage_variables: Option<String>,
    /// `tags` hstore text.
    pub tags: Option<String>,
    /// `region` (extension).
    pub region: String,
    /// `api_id` (extension).
    pub api_id: String,
}

impl StageRow {
    /// Applies the column rules to one stage. Returns `None` for a stage without a name, which
    /// cannot have an ARN; the caller logs it.
    pub fn from_stage(ctx: &StageContext, stage: &Stage) -> Option<StageRow> {
        let stage_name = stage.stage_name.clone()?;
        let arn = stage_arn(&ctx.region, &ctx.api_id, &stage_name);
        Some(StageRow {
            key: arn.clone(),
            access_log_settings: stage.access_log_settings.as_ref().map(to_json),
            account_id: ctx.account_id.clone(),
            api_gateway_managed: stage.api_gateway_managed,
            auto_deploy: stage.auto_deploy,
            client_certificate_id: stage.client_certificate_id.clone(),
            created_date: stage.created_date.as_ref().map(micros),
            default_route_settings: stage.default_route_settings.as_ref().map(to_json),
            deployment_id: stage.deployment_id.clone(),
            description: stage.description.clone().filter(|d| !d.is_empty()),
            last_deployment_status_message: stage.last_deployment_status_message.clone(),
            last_updated_date: stage.last_updated_date.as_ref().map(micros),
            route_settings: stage.route_settings.as_ref().map(to_json),
            stage_arn: arn,
            stage_name,
            stage_variables: stage.stage_variables.as_ref().map(hstore_text),
            tags: stage.tags.as_ref().map(hstore_text),
            region: ctx.region.clone(),
            api_id: ctx.api_id.clone(),
        })
    }
}

fn micros(t: &DateTime<Utc>) -> i64 {
    t.timestamp_micros()
}

/// Compact JSON of a value whose serialisation cannot fail (plain structs and string-keyed maps).
fn to_json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| String::from("null"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Page;

    fn ctx() -> StageContext {
        StageContext {
            account_id: "123456789012".into(),
            region: "us-east-1".into(),
            api_id: "a1b2c3".into(),
        }
    }

    fn stage(json: &str) -> Stage {
        serde_json::from_str(json).expect("stage json")
    }

    #[test]
    fn full_http_stage_renders_every_rule() {
        let page: Page<Stage> = serde_json::from_str(r#"{"items": [{"stageName": "prod", "defaultRouteSettings": {"detailedMetricsEnabled": true, "throttlingBurstLimit": 100, "throttlingRateLimit": 50.0}, "createdDate": "2026-11-25T09:38:48Z", "lastUpdatedDate": "2026-11-25T09:38:48.123456Z", "routeSettings": {"GET /orders": {"detailedMetricsEnabled": false, "throttlingBurstLimit": 10, "throttlingRateLimit": 5.5}, "$connect": {"loggingLevel": "ERROR"}}, "stageVariables": {"lambdaAlias": "live", "region": "us-east-1"}, "tags": {"env": "prod", "cost-center": "cc:42", "owner": "a,b"}, "accessLogSettings": {"destinationArn": "arn:aws:logs:us-east-1:123456789012:log-group:apigw-access", "format": "{\"requestId\":\"$context.requestId\"}"}, "autoDeploy": true, "description": "production stage", "deploymentId": "dep1", "apiGatewayManaged": false, "lastDeploymentStatusMessage": "ok", "clientCertificateId": "cc1"}]}"#).expect("page");
        let row = StageRow::from_stage(&ctx(), &page.items[0]).expect("named");
        let arn = "arn:aws:apigateway:us-east-1::/apis/a1b2c3/stages/prod";
        assert_eq!(
            row,
            StageRow {
                key: arn.into(),
                access_log_settings: Some(
                    r#"{"destination_arn":"arn:aws:logs:us-east-1:123456789012:log-group:apigw-access","format":"{\"requestId\":\"$context.requestId\"}"}"#
                        .into()
                ),
                account_id: "123456789012".into(),
                api_gateway_managed: Some(false),
                auto_deploy: Some(true),
                client_certificate_id: Some("cc1".into()),
                created_date: Some(1_795_599_528_000_000),
                default_route_settings: Some(
                    r#"{"detailed_metrics_enabled":true,"throttling_burst_limit":100,"throttling_rate_limit":50.0}"#.into()
                ),
                deployment_id: Some("dep1".into()),
                description: Some("production stage".into()),
                last_deployment_status_message: Some("ok".into()),
                last_updated_date: Some(1_795_599_528_123_456),
                route_settings: Some(
                    r#"{"$connect":{"logging_level":"ERROR"},"GET /orders":{"detailed_metrics_enabled":false,"throttling_burst_limit":10,"throttling_rate_limit":5.5}}"#.into()
                ),
                stage_arn: arn.into(),
                stage_name: "prod".into(),
                stage_variables: Some(r#""region"=>"us-east-1", "lambdaAlias"=>"live""#.into()),
                tags: Some(r#""env"=>"prod", "owner"=>"a,b", "cost-center"=>"cc:42""#.into()),
                region: "us-east-1".into(),
                api_id: "a1b2c3".into(),
            }
        );
    }

    #[test]
    fn absent_fields_are_null_and_empty_maps_are_empty() {
        let row = StageRow::from_stage(
            &ctx(),
            &stage(r#"{"stageName": "$default", "routeSettings": {}, "stageVariables": {}, "tags": {}, "description": ""}"#),
        )
        .expect("named");
        assert_eq!(row.access_log_settings, None);
        assert_eq!(row.api_gateway_managed, None);
        assert_eq!(row.auto_deploy, None);
        assert_eq!(row.client_certificate_id, None);
        assert_eq!(row.created_date, None);
        assert_eq!(row.default_route_settings, None);
        assert_eq!(row.deployment_id, None);
        assert_eq!(
            row.description, None,
            "an empty description is NULL, never ''"
        );
        assert_eq!(row.last_deployment_status_message, None);
        assert_eq!(row.route_settings.as_deref(), Some("{}"));
        assert_eq!(row.stage_variables.as_deref(), Some(""));
        assert_eq!(row.tags.as_deref(), Some(""));
        assert_eq!(
            row.stage_arn,
            "arn:aws:apigateway:us-east-1::/apis/a1b2c3/stages/$default"
        );
        assert_eq!(row.key, row.stage_arn);
    }

    #[test]
    fn websocket_default_route_settings_keep_only_returned_members() {
        let row = StageRow::from_stage(
            &ctx(),
            &stage(r#"{"stageName": "dev", "defaultRouteSettings": {"dataTraceEnabled": true, "loggingLevel": "INFO", "detailedMetricsEnabled": false}}"#),
        )
        .expect("named");
        assert_eq!(
            row.default_route_settings.as_deref(),
            Some(
                r#"{"data_trace_enabled":true,"detailed_metrics_enabled":false,"logging_level":"INFO"}"#
            )
        );
    }

    #[test]
    fn access_log_settings_keep_only_returned_members() {
        let row = StageRow::from_stage(
            &ctx(),
            &stage(r#"{"stageName": "x", "accessLogSettings": {"format": "$context.requestId"}}"#),
        )
        .expect("named");
        assert_eq!(
            row.access_log_settings.as_deref(),
            Some(r#"{"format":"$context.requestId"}"#)
        );
    }

    #[test]
    fn nameless_stage_is_skipped() {
        assert_eq!(
            StageRow::from_stage(&ctx(), &stage(r#"{"description": "x"}"#)),
            None
        );
    }

    #[test]
    fn timestamps_with_offsets_are_converted_to_utc() {
        let row = StageRow::from_stage(
            &ctx(),
            &stage(r#"{"stageName": "x", "createdDate": "2026-11-25T10:38:48.5+01:00"}"#),
        )
        .expect("named");
        assert_eq!(row.created_date, Some(1_795_599_528_500_000));
    }
}
