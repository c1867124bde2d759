//! One (account, region) partition: GetApis, then GetStages for several APIs at once.
//!
//! Neither operation has an SDK paginator, so both loops follow `nextToken` until it is absent
//! or empty. Every request waits on the account's token bucket, so fetching stages of several
//! APIs at once makes the crawl bounded by AWS's rate limit rather than by latency.

use std::sync::Arc;

use aws_config::Region;
use aws_sdk_apigatewayv2 as apigw;
use aws_sdk_apigatewayv2::config::retry::RetryPartition;
use futures::StreamExt;

use super::convert::stage_from_sdk;
use super::sdk::{AttemptCounter, CountAttempts, Limiter, all_pages, error_message, explain};
use super::{Account, PartitionCrawl};
use crate::model::Stage;
use crate::row::{StageContext, StageRow};

/// APIs whose stages are fetched at once within one partition (each request still waits on the
/// account's token bucket).
const STAGE_FETCHES_AT_ONCE: usize = 8;

/// Crawls one region of one account: every API, then every stage of each. A failure of
/// GetApis fails the partition; its `error` is set and the calls made are still counted.
pub async fn crawl_partition(account: &Account, region: &str) -> PartitionCrawl {
    let (client, counter) = account.client_for(region);
    let (calls_before, throttled_before) = counter.totals();
    let mut out = PartitionCrawl::default();
    let client = &client;
    match api_ids(client, &account.limiter).await {
        Err(message) => {
            out.error = Some(format!("GetApis failed: {}", explain(message)));
        }
        Ok(ids) => {
            out.api_count = ids.len();
            let limiter = &account.limiter;
            let mut fetched = futures::stream::iter(ids)
                .map(|api_id| async move {
                    let stages = stages_of(client, limiter, &api_id).await;
                    (api_id, stages)
                })
                .buffered(STAGE_FETCHES_AT_ONCE);
            while let Some((api_id, stages)) = fetched.next().await {
                let ctx = StageContext {
                    account_id: account.account_id.clone(),
                    region: region.to_owned(),
                    api_id: api_id.clone(),
                };
                match stages {
                    Ok(stages) => {
                        for stage in &stages {
                            match StageRow::from_stage(&ctx, stage) {
                                Some(row) => out.rows.push(row),
                                None => tracing::warn!(
                                    account_id = %ctx.account_id, region, api_id = %api_id,
                                    "skipping a stage without a stageName"
                                ),
                            }
                        }
                    }
                    Err(message) => {
                        tracing::warn!(account_id = %ctx.account_id, region, api_id = %api_id, cause = %message, "GetStages failed; keeping this API's last good stages");
                        out.failed_apis.push((api_id, message));
                    }
                }
            }
        }
    }
    let (calls, throttled) = counter.totals();
    out.api_calls = calls - calls_before;
    out.throttled_calls = throttled - throttled_before;
    out
}

/// A new API Gateway client of `account` in `region`, counting its attempts in `counter`.
pub(crate) fn client(
    account: &Account,
    region: &str,
    counter: &Arc<AttemptCounter>,
) -> apigw::Client {
    // The SDK's default retry partition is per region and process-wide: one throttled account
    // would slow every other account's retries in that region. Give each its own.
    apigw::Client::from_conf(
        apigw::config::Builder::from(&account.config)
            .region(Region::new(region.to_owned()))
            .retry_partition(RetryPartition::new(format!(
                "apigatewayv2-{}-{region}",
                account.account_id
            )))
            .interceptor(CountAttempts {
                counter: Arc::clone(counter),
                account_id: account.account_id.clone(),
                region: region.to_owned(),
            })
            .build(),
    )
}

async fn api_ids(client: &apigw::Client, limiter: &Limiter) -> Result<Vec<String>, String> {
    all_pages(limiter, |token| async move {
        let page = client
            .get_apis()
            .max_results("500")
            .set_next_token(token)
            .send()
            .await
            .map_err(|e| error_message(&e))?;
        let ids = page
            .items()
            .iter()
            .filter_map(|a| a.api_id().map(str::to_owned))
            .collect();
        Ok((ids, page.next_token().map(str::to_owned)))
    })
    .await
}

async fn stages_of(
    client: &apigw::Client,
    limiter: &Limiter,
    api_id: &str,
) -> Result<Vec<Stage>, String> {
    all_pages(limiter, |token| async move {
        let page = client
            .get_stages()
            .api_id(api_id)
            .max_results("500")
            .set_next_token(token)
            .send()
            .await
            .map_err(|e| error_message(&e))?;
        let stages = page.items().iter().map(stage_from_sdk).collect();
        Ok((stages, page.next_token().map(str::to_owned)))
    })
    .await
}
