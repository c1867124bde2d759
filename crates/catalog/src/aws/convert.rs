//! The SDK's `Stage` as our model, member for member.

use std::collections::BTreeMap;

use aws_sdk_apigatewayv2 as apigw;
use chrono::{DateTime, Utc};

use crate::model::{AccessLogSettings, RouteSettings, Stage};

fn time(t: Option<&aws_smithy_types::DateTime>) -> Option<DateTime<Utc>> {
    t.and_then(|t| DateTime::from_timestamp(t.secs(), t.subsec_nanos()))
}

fn route_settings(r: &apigw::types::RouteSettings) -> RouteSettings {
    RouteSettings {
        data_trace_enabled: r.data_trace_enabled(),
        detailed_metrics_enabled: r.detailed_metrics_enabled(),
        logging_level: r.logging_level().map(|l| l.as_str().to_owned()),
        throttling_burst_limit: r.throttling_burst_limit(),
        throttling_rate_limit: r.throttling_rate_limit(),
    }
}

/// The SDK's Stage as our model, member for member.
pub fn stage_from_sdk(s: &apigw::types::Stage) -> Stage {
    let map = |m: Option<&std::collections::HashMap<String, String>>| {
        m.map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect::<BTreeMap<_, _>>()
        })
    };
    Stage {
        access_log_settings: s.access_log_settings().map(|a| AccessLogSettings {
            destination_arn: a.destination_arn().map(str::to_owned),
            format: a.format().map(str::to_owned),
        }),
        api_gateway_managed: s.api_gateway_managed(),
        auto_deploy: s.auto_deploy(),
        client_certificate_id: s.client_certificate_id().map(str::to_owned),
        created_date: time(s.created_date()),
        default_route_settings: s.default_route_settings().map(route_settings),
        deployment_id: s.deployment_id().map(str::to_owned),
        description: s.description().map(str::to_owned),
        last_deployment_status_message: s.last_deployment_status_message().map(str::to_owned),
        last_updated_date: time(s.last_updated_date()),
        route_settings: s.route_settings().map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), route_settings(v)))
                .collect()
        }),
        stage_name: s.stage_name().map(str::to_owned),
        stage_variables: map(s.stage_variables()),
        tags: map(s.tags()),
    }
}
