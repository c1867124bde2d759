//! The live source: GetApis, then GetStages per API, for each (account, region) partition.
//!
//! One `SdkConfig` per account is built once and kept, so the SDK caches and refreshes
//! credentials; per-region clients derive from it. Neither operation has an SDK paginator, so
//! both loops follow `nextToken` until it is absent or empty.

use std::collections::BTreeMap;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_apigatewayv2 as apigw;
use aws_sdk_apigatewayv2::config::retry::RetryPartition;
use chrono::{DateTime, Utc};

use crate::model::{AccessLogSettings, RouteSettings, Stage};
use crate::row::{StageContext, StageRow};

/// Which credentials to crawl with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AccountSpec {
    /// The default credential chain (environment, profile, instance role, ...).
    Default,
    /// A role to assume with the default credentials.
    AssumeRole {
        /// The role ARN.
        role_arn: String,
        /// Optional external id.
        external_id: Option<String>,
        /// Session name shown in CloudTrail.
        session_name: String,
    },
}

/// What the source crawls.
#[derive(Debug, Clone)]
pub struct AwsSourceConfig {
    /// Regions to crawl in every account.
    pub regions: Vec<String>,
    /// Accounts to crawl.
    pub accounts: Vec<AccountSpec>,
    /// Endpoint override for every AWS service (tests, local stacks). `AWS_ENDPOINT_URL` and
    /// `AWS_ENDPOINT_URL_APIGATEWAYV2` work too.
    pub endpoint_url: Option<String>,
    /// Per-attempt timeout: a request the service never answers is retried after this.
    pub attempt_timeout: Duration,
    /// Attempts per request (throttling, 5xx and timeouts are retried with backoff).
    pub max_attempts: u32,
    /// Client-side rate limit per account, in requests per second. API Gateway's control plane
    /// allows about 10 per account, shared with consoles and IaC, so the default leaves headroom.
    pub requests_per_second: f64,
    /// Requests an account may make at once before the rate applies.
    pub burst: u32,
    /// Fixed credentials (access key id, secret) instead of the default chain. Meant for local
    /// AWS emulators such as moto, whose keys are dummies; never put real keys in a config file.
    pub static_credentials: Option<(String, String)>,
}

/// Why an account could not be set up or a partition crawled.
#[derive(Debug, Clone, thiserror::Error)]
pub enum SourceError {
    /// STS GetCallerIdentity failed for an account.
    #[error("cannot identify account ({account}): {message}")]
    Identity {
        /// The account spec, e.g. the role ARN.
        account: String,
        /// The SDK's message.
        message: String,
    },
    /// GetApis failed for a partition.
    #[error("GetApis failed in {account_id}/{region}: {message}")]
    GetApis {
        /// Account.
        account_id: String,
        /// Region.
        region: String,
        /// The SDK's message.
        message: String,
    },
}

/// A token bucket shared by every request of one account.
type Limiter = governor::DefaultDirectRateLimiter;

/// One account, ready to crawl.
#[derive(Debug, Clone)]
pub struct Account {
    /// The 12-digit account id (from STS).
    pub account_id: String,
    config: SdkConfig,
    /// AWS's limit is per account, so the bucket is too; regions of one account share it.
    limiter: Arc<Limiter>,
}

impl Account {
    /// The account's SDK configuration (credentials, endpoint, retry and timeouts).
    pub fn sdk_config(&self) -> &SdkConfig {
        &self.config
    }

    /// An account whose identity is already known (no STS call): for benchmarks and tools
    /// that build the SDK configuration themselves.
    pub fn with_config(
        account_id: impl Into<String>,
        config: SdkConfig,
        requests_per_second: f64,
        burst: u32,
    ) -> Account {
        Account {
            account_id: account_id.into(),
            config,
            limiter: Arc::new(limiter(requests_per_second, burst)),
        }
    }
}

/// A crawl of one (account, region).
#[derive(Debug, Clone, Default)]
pub struct PartitionCrawl {
    /// Rows of every API that answered.
    pub rows: Vec<StageRow>,
    /// APIs whose GetStages failed (their previous rows should be kept).
    pub failed_apis: Vec<(String, String)>,
    /// APIs listed.
    pub api_count: usize,
    /// AWS calls made: HTTP attempts, retries included.
    pub api_calls: usize,
    /// Attempts AWS answered with 429 (throttled).
    pub throttled_calls: usize,
}

/// Counts every HTTP attempt of one crawl and the throttled ones, retries included (the SDK
/// retries inside `send()`, so only an interceptor sees them).
#[derive(Debug, Default)]
struct AttemptCounter {
    attempts: AtomicUsize,
    throttled: AtomicUsize,
}

/// The interceptor behind [`AttemptCounter`]; it also reports each attempt to the process's
/// metrics (`stagesql_aws_attempts_total`, `_throttled_total`, `_retries_total`), labelled with
/// the partition.
#[derive(Debug)]
struct CountAttempts {
    counter: Arc<AttemptCounter>,
    account_id: String,
    region: String,
}

/// How many attempts the current operation has made (kept in the operation's config bag, so
/// an attempt after the first is a retry).
#[derive(Debug, Clone, Copy)]
struct OperationAttempts(u32);

impl aws_smithy_types::config_bag::Storable for OperationAttempts {
    type Storer = aws_smithy_types::config_bag::StoreReplace<Self>;
}

impl apigw::config::Intercept for CountAttempts {
    fn name(&self) -> &'static str {
        "stagesql-attempt-counter"
    }

    fn read_after_attempt(
        &self,
        context: &apigw::config::interceptors::FinalizerInterceptorContextRef<'_>,
        _runtime_components: &apigw::config::RuntimeComponents,
        cfg: &mut apigw::config::ConfigBag,
    ) -> Result<(), apigw::error::BoxError> {
        let labels = [
            ("account_id", self.account_id.clone()),
            ("region", self.region.clone()),
        ];
        self.counter.attempts.fetch_add(1, Ordering::Relaxed);
        metrics::counter!("stagesql_aws_attempts_total", &labels).increment(1);
        let attempt = cfg.load::<OperationAttempts>().map_or(1, |a| a.0 + 1);
        cfg.interceptor_state()
            .store_put(OperationAttempts(attempt));
        if attempt > 1 {
            metrics::counter!("stagesql_aws_retries_total", &labels).increment(1);
        }
        if context
            .response()
            .is_some_and(|r| r.status().as_u16() == 429)
        {
            self.counter.throttled.fetch_add(1, Ordering::Relaxed);
            metrics::counter!("stagesql_aws_throttled_total", &labels).increment(1);
        }
        Ok(())
    }
}

/// Builds the SDK config of every account and asks STS who each one is.
pub async fn connect(config: &AwsSourceConfig) -> Result<Vec<Account>, SourceError> {
    let base_region = config
        .regions
        .first()
        .cloned()
        .unwrap_or_else(|| "us-east-1".to_owned());
    let loader = || {
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            .region(Region::new(base_region.clone()))
            .retry_config(RetryConfig::standard().with_max_attempts(config.max_attempts.max(1)))
            .timeout_config(
                TimeoutConfig::builder()
                    .operation_attempt_timeout(config.attempt_timeout)
                    .build(),
            );
        if let Some(url) = &config.endpoint_url {
            loader = loader.endpoint_url(url);
        }
        if let Some((id, secret)) = &config.static_credentials {
            loader = loader.credentials_provider(aws_sdk_sts::config::Credentials::new(
                id.clone(),
                secret.clone(),
                None,
                None,
                "stagesql-static",
            ));
        }
        loader
    };
    let base = loader().load().await;
    let mut accounts = Vec::with_capacity(config.accounts.len());
    for spec in &config.accounts {
        let (label, sdk) = match spec {
            AccountSpec::Default => ("default credentials".to_owned(), base.clone()),
            AccountSpec::AssumeRole {
                role_arn,
                external_id,
                session_name,
            } => {
                let mut provider = aws_config::sts::AssumeRoleProvider::builder(role_arn)
                    .session_name(session_name)
                    .region(Region::new(base_region.clone()))
                    .configure(&base);
                if let Some(id) = external_id {
                    provider = provider.external_id(id);
                }
                let provider = provider.build().await;
                let sdk = loader().credentials_provider(provider).load().await;
                (role_arn.clone(), sdk)
            }
        };
        let identity = aws_sdk_sts::Client::new(&sdk)
            .get_caller_identity()
            .send()
            .await
            .map_err(|e| SourceError::Identity {
                account: label.clone(),
                message: error_message(&e),
            })?;
        let account_id =
            identity
                .account()
                .map(str::to_owned)
                .ok_or_else(|| SourceError::Identity {
                    account: label,
                    message: "GetCallerIdentity returned no account".to_owned(),
                })?;
        accounts.push(Account {
            account_id,
            config: sdk,
            limiter: Arc::new(limiter(config.requests_per_second, config.burst)),
        });
    }
    Ok(accounts)
}

fn limiter(rate: f64, burst: u32) -> Limiter {
    let period = Duration::from_secs_f64(1.0 / rate.max(0.001));
    let burst = NonZeroU32::new(burst.max(1)).unwrap_or(NonZeroU32::MIN);
    let quota = governor::Quota::with_period(period)
        .unwrap_or_else(|| governor::Quota::per_second(NonZeroU32::MIN))
        .allow_burst(burst);
    governor::RateLimiter::direct(quota)
}

fn error_message<E: std::error::Error + 'static>(e: &E) -> String {
    let mut msg = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        msg.push_str(": ");
        msg.push_str(&s.to_string());
        source = s.source();
    }
    msg
}

/// Crawls one region of one account: every API, then every stage of each.
pub async fn crawl_partition(
    account: &Account,
    region: &str,
) -> Result<PartitionCrawl, SourceError> {
    let counter = Arc::new(AttemptCounter::default());
    // The SDK's default retry partition is per region and process-wide: one throttled account
    // would slow every other account's retries in that region. Give each its own.
    let client = apigw::Client::from_conf(
        apigw::config::Builder::from(&account.config)
            .region(Region::new(region.to_owned()))
            .retry_partition(RetryPartition::new(format!(
                "apigatewayv2-{}-{region}",
                account.account_id
            )))
            .interceptor(CountAttempts {
                counter: Arc::clone(&counter),
                account_id: account.account_id.clone(),
                region: region.to_owned(),
            })
            .build(),
    );
    let mut out = PartitionCrawl::default();
    let mut api_ids = Vec::new();
    let mut next: Option<String> = None;
    loop {
        account.limiter.until_ready().await;
        let page = client
            .get_apis()
            .max_results("500")
            .set_next_token(next.take())
            .send()
            .await
            .map_err(|e| SourceError::GetApis {
                account_id: account.account_id.clone(),
                region: region.to_owned(),
                message: error_message(&e),
            })?;
        api_ids.extend(
            page.items()
                .iter()
                .filter_map(|a| a.api_id().map(str::to_owned)),
        );
        next = page
            .next_token()
            .filter(|t| !t.is_empty())
            .map(str::to_owned);
        if next.is_none() {
            break;
        }
    }
    out.api_count = api_ids.len();
    for api_id in api_ids {
        let ctx = StageContext {
            account_id: account.account_id.clone(),
            region: region.to_owned(),
            api_id: api_id.clone(),
        };
        match stages_of(&client, &account.limiter, &api_id).await {
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
    out.api_calls = counter.attempts.load(Ordering::Relaxed);
    out.throttled_calls = counter.throttled.load(Ordering::Relaxed);
    Ok(out)
}

async fn stages_of(
    client: &apigw::Client,
    limiter: &Limiter,
    api_id: &str,
) -> Result<Vec<Stage>, String> {
    let mut stages = Vec::new();
    let mut next: Option<String> = None;
    loop {
        limiter.until_ready().await;
        let page = client
            .get_stages()
            .api_id(api_id)
            .max_results("500")
            .set_next_token(next.take())
            .send()
            .await
            .map_err(|e| error_message(&e))?;
        stages.extend(page.items().iter().map(stage_from_sdk));
        next = page
            .next_token()
            .filter(|t| !t.is_empty())
            .map(str::to_owned);
        if next.is_none() {
            return Ok(stages);
        }
    }
}

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
