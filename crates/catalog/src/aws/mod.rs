//! The live source: who to crawl (accounts, the organization's members), where (each account's
//! enabled regions) and what (GetApis, then GetStages per API, per (account, region)).
//!
//! One `SdkConfig` per account is built once and kept, so the SDK caches and refreshes
//! credentials; per-region clients derive from it. Every request of an account waits on that
//! account's token bucket (AWS's limit is per account); the crawler's own STS and
//! Organizations calls wait on a discovery bucket.
//!
//! - [`accounts`]: set up one account (AssumeRole + GetCallerIdentity); list the organization.
//! - [`regions`]: DescribeRegions and the region patterns.
//! - [`crawl`]: one partition's GetApis and GetStages.
//! - [`convert`]: the SDK's Stage as our model.
//! - `sdk`: the shared loader, buckets, attempt counter and error advice.

pub mod accounts;
pub mod convert;
pub mod crawl;
pub mod regions;
mod sdk;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use aws_config::SdkConfig;

pub use accounts::OrgAccount;
pub(crate) use accounts::{list_organization, setup_account};
pub use convert::stage_from_sdk;
pub use crawl::crawl_partition;
pub(crate) use regions::describe_regions;
pub use regions::{RegionInfo, RegionPlan};

pub(crate) use sdk::{AttemptCounter, Limiter, home_region, http_client, limiter, loader};

use crate::row::StageRow;

/// Which credentials to crawl with.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
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

impl AccountSpec {
    /// The account id the role ARN names (`arn:aws:iam::123456789012:role/x`), if any: what a
    /// status row shows for an account that could not be set up.
    pub fn account_id_hint(&self) -> Option<String> {
        match self {
            AccountSpec::Default => None,
            AccountSpec::AssumeRole { role_arn, .. } => role_arn
                .split(':')
                .nth(4)
                .filter(|id| !id.is_empty())
                .map(str::to_owned),
        }
    }

    /// How logs and errors name this account before its id is known.
    pub fn label(&self) -> String {
        match self {
            AccountSpec::Default => "default credentials".to_owned(),
            AccountSpec::AssumeRole { role_arn, .. } => role_arn.clone(),
        }
    }
}

/// `[source.organization]`: the member accounts come from AWS Organizations.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OrganizationSpec {
    /// The role assumed in each member: `arn:{partition}:iam::{id}:role/{member_role_name}`.
    pub member_role_name: String,
    /// The member role's external id, if its trust policy requires one.
    pub external_id: Option<String>,
    /// The assumed-role session name.
    pub session_name: String,
    /// OUs (or the root) to walk; empty: the whole organization (`ListAccounts`).
    pub units: Vec<String>,
    /// OUs whose accounts (nested OUs included) are left out.
    pub exclude_units: Vec<String>,
    /// When not empty, only these account ids.
    pub include_accounts: Vec<String>,
    /// Account ids left out.
    pub exclude_accounts: Vec<String>,
}

impl OrganizationSpec {
    /// The credentials that reach member `account_id` in `partition`.
    pub fn member(&self, partition: &str, account_id: &str) -> AccountSpec {
        AccountSpec::AssumeRole {
            role_arn: format!(
                "arn:{partition}:iam::{account_id}:role/{}",
                self.member_role_name
            ),
            external_id: self.external_id.clone(),
            session_name: self.session_name.clone(),
        }
    }
}

/// What the source crawls.
#[derive(Debug, Clone)]
pub struct AwsSourceConfig {
    /// Regions to crawl in every account: names, or patterns (`*`, `us-*`) matched against
    /// the regions each account has enabled.
    pub regions: Vec<String>,
    /// Accounts named in the config.
    pub accounts: Vec<AccountSpec>,
    /// The organization whose active members are crawled too.
    pub organization: Option<OrganizationSpec>,
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
    /// Rate limit of the crawler's own credentials for STS AssumeRole and Organizations calls.
    pub discovery_requests_per_second: f64,
    /// Accounts set up (AssumeRole, GetCallerIdentity, DescribeRegions) at once.
    pub setup_concurrency: usize,
    /// Fixed credentials (access key id, secret) instead of the default chain. Meant for local
    /// AWS emulators such as moto, whose keys are dummies; never put real keys in a config file.
    pub static_credentials: Option<(String, String)>,
}

impl AwsSourceConfig {
    /// A source over `accounts` in `regions` with the server's defaults for the rest.
    pub fn new(accounts: Vec<AccountSpec>, regions: Vec<String>) -> AwsSourceConfig {
        AwsSourceConfig {
            regions,
            accounts,
            organization: None,
            endpoint_url: None,
            attempt_timeout: Duration::from_secs(5),
            max_attempts: 6,
            requests_per_second: 5.0,
            burst: 10,
            discovery_requests_per_second: 20.0,
            setup_concurrency: 32,
            static_credentials: None,
        }
    }
}

/// An account's API Gateway client in one region and its attempt counter.
type RegionClient = (aws_sdk_apigatewayv2::Client, Arc<AttemptCounter>);

/// One account, ready to crawl.
#[derive(Debug, Clone)]
pub struct Account {
    /// The 12-digit account id (from STS).
    pub account_id: String,
    config: SdkConfig,
    /// AWS's limit is per account, so the bucket is too; regions of one account share it.
    limiter: Arc<Limiter>,
    /// One API Gateway client per region, built once and kept (building one is not free, and
    /// a refresh of a large organization needs thousands), with its attempt counter.
    clients: Arc<std::sync::Mutex<BTreeMap<String, RegionClient>>>,
}

impl Account {
    /// The account's client in `region` and its attempt counter (counts only grow: a crawl
    /// reads how much they grew while it ran).
    pub(crate) fn client_for(
        &self,
        region: &str,
    ) -> (aws_sdk_apigatewayv2::Client, Arc<AttemptCounter>) {
        // Held for a map lookup or insert, never across an await; a poisoned map is still a
        // valid cache.
        let mut clients = self.clients.lock().unwrap_or_else(|p| p.into_inner());
        clients
            .entry(region.to_owned())
            .or_insert_with(|| {
                let counter = Arc::new(AttemptCounter::default());
                (crawl::client(self, region, &counter), counter)
            })
            .clone()
    }

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
            clients: Arc::default(),
        }
    }
}

/// A crawl of one (account, region).
#[derive(Debug, Clone, Default)]
pub struct PartitionCrawl {
    /// Why the partition failed (GetApis did not answer); its previous rows should be kept.
    pub error: Option<String>,
    /// Rows of every API that answered.
    pub rows: Vec<StageRow>,
    /// APIs whose GetStages failed (their previous rows should be kept).
    pub failed_apis: Vec<(String, String)>,
    /// APIs listed.
    pub api_count: usize,
    /// AWS calls made: HTTP attempts, retries included, failed ones too.
    pub api_calls: usize,
    /// Attempts AWS answered with 429 (throttled).
    pub throttled_calls: usize,
}

/// Sets up one account on its own (the base credentials from `config`): for tools, tests and
/// benchmarks that crawl a partition directly. The refresher uses [`crate::refresh::Crawler`].
pub async fn set_up(config: &AwsSourceConfig, spec: &AccountSpec) -> Result<Account, String> {
    let base = loader(config).http_client(http_client()).load().await;
    let discovery = limiter(config.discovery_requests_per_second, 1);
    let counter = Arc::new(AttemptCounter::default());
    setup_account(spec, &base, config, &discovery, &counter).await
}
