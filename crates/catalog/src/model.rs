//! The AWS API Gateway v2 shapes the catalog consumes.
//!
//! These mirror the GetStages/GetApis JSON (camelCase keys; unknown keys and explicit `null`s are
//! accepted) so the demo fixture deserialises straight into them, and the live source converts the
//! SDK's types into the very same structs. Serialisation uses snake_case and skips absent members:
//! that is exactly the JSON the table's json columns show.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// One stage, as GetStages returns it. Every member is optional because AWS may omit any of them.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Stage {
    /// `accessLogSettings`.
    pub access_log_settings: Option<AccessLogSettings>,
    /// `apiGatewayManaged`.
    pub api_gateway_managed: Option<bool>,
    /// `autoDeploy`.
    pub auto_deploy: Option<bool>,
    /// `clientCertificateId` (WebSocket only).
    pub client_certificate_id: Option<String>,
    /// `createdDate`, ISO 8601.
    pub created_date: Option<DateTime<Utc>>,
    /// `defaultRouteSettings`.
    pub default_route_settings: Option<RouteSettings>,
    /// `deploymentId`.
    pub deployment_id: Option<String>,
    /// `description`.
    pub description: Option<String>,
    /// `lastDeploymentStatusMessage`.
    pub last_deployment_status_message: Option<String>,
    /// `lastUpdatedDate`, ISO 8601.
    pub last_updated_date: Option<DateTime<Utc>>,
    /// `routeSettings`, keyed by route key (`GET /orders`, `$connect`, ...).
    pub route_settings: Option<BTreeMap<String, RouteSettings>>,
    /// `stageName` (required by the model, but a crawler must not trust that).
    pub stage_name: Option<String>,
    /// `stageVariables`.
    pub stage_variables: Option<BTreeMap<String, String>>,
    /// `tags`.
    pub tags: Option<BTreeMap<String, String>>,
}

/// `AccessLogSettings`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(rename_all(deserialize = "camelCase", serialize = "snake_case"))]
pub struct AccessLogSettings {
    /// `destinationArn`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub destination_arn: Option<String>,
    /// `format`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub format: Option<String>,
}

/// `RouteSettings`, used for the stage default and per route.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(rename_all(deserialize = "camelCase", serialize = "snake_case"))]
pub struct RouteSettings {
    /// `dataTraceEnabled` (WebSocket only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_trace_enabled: Option<bool>,
    /// `detailedMetricsEnabled`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detailed_metrics_enabled: Option<bool>,
    /// `loggingLevel`: `ERROR`, `INFO` or `OFF` (kept verbatim).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub logging_level: Option<String>,
    /// `throttlingBurstLimit`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub throttling_burst_limit: Option<i32>,
    /// `throttlingRateLimit`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub throttling_rate_limit: Option<f64>,
}

/// The parts of a GetApis item the catalog needs.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApiSummary {
    /// `apiId`.
    pub api_id: Option<String>,
    /// `name`.
    pub name: Option<String>,
    /// `protocolType`: `HTTP` or `WEBSOCKET`.
    pub protocol_type: Option<String>,
}

/// A page of a GetApis/GetStages answer: `{"items": [...], "nextToken": ...}`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", bound(deserialize = "T: Deserialize<'de>"))]
pub struct Page<T> {
    /// The page's items (`null` reads as empty).
    #[serde(default = "Vec::new", deserialize_with = "null_as_empty")]
    pub items: Vec<T>,
    /// The token for the next page, if any.
    #[serde(default)]
    pub next_token: Option<String>,
}

fn null_as_empty<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Ok(Option::<Vec<T>>::deserialize(d)?.unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_moto_get_stages_body() {
        let body = r#"{"items": [{"stageName": "prod", "defaultRouteSettings": {"detailedMetricsEnabled": true, "throttlingBurstLimit": 100, "throttlingRateLimit": 50.0}, "createdDate": "2026-11-25T09:38:48Z", "lastUpdatedDate": "2026-11-25T09:38:48Z", "routeSettings": {"GET /orders": {"detailedMetricsEnabled": false, "throttlingBurstLimit": 10, "throttlingRateLimit": 5.5}}, "stageVariables": {"lambdaAlias": "live", "region": "us-east-1"}, "tags": {"env": "prod", "cost-center": "cc:42", "owner": "a,b"}, "accessLogSettings": {"destinationArn": "arn:aws:logs:us-east-1:123456789012:log-group:apigw-access", "format": "{\"requestId\":\"$context.requestId\"}"}, "autoDeploy": true, "description": "production stage", "somethingNew": null}]}"#;
        let page: Page<Stage> = serde_json::from_str(body).expect("parses");
        let s = &page.items[0];
        assert_eq!(s.stage_name.as_deref(), Some("prod"));
        assert_eq!(s.auto_deploy, Some(true));
        assert_eq!(s.api_gateway_managed, None);
        assert_eq!(s.created_date.map(|d| d.timestamp()), Some(1_795_599_528));
        let drs = s.default_route_settings.as_ref().expect("present");
        assert_eq!(drs.throttling_burst_limit, Some(100));
        assert_eq!(drs.throttling_rate_limit, Some(50.0));
        assert_eq!(page.next_token, None);
    }

    #[test]
    fn null_items_read_as_empty() {
        let page: Page<Stage> =
            serde_json::from_str(r#"{"items": null, "nextToken": "abc"}"#).expect("parses");
        assert!(page.items.is_empty());
        assert_eq!(page.next_token.as_deref(), Some("abc"));
    }
}
