//! `[source]`: where the stage data comes from: the demo fixture, or live AWS (named accounts,
//! an organization's members, regions by name or pattern).

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::ConfigError;

/// `[source]`.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct SourceConfig {
    /// `kind`: `demo` (a fixture of recorded AWS answers), `aws` (crawl live) or `replica`
    /// (serve what a crawler publishes to a snapshot store). Default `demo`.
    pub kind: SourceKind,
    /// `url` (replica): the snapshot store a crawler publishes to, the same as its
    /// `publish.url`: `s3://bucket/prefix` or `file:///absolute/directory`. Required.
    pub url: Option<String>,
    /// `store_region` (replica): the bucket's region. Default: the standard AWS environment's
    /// region (`AWS_REGION`, the profile), else `us-east-1`.
    pub store_region: Option<String>,
    /// `poll_interval_seconds` (replica): how often the store's manifest is checked (a
    /// conditional GET, so an unchanged manifest costs one small request). Default 10.
    pub poll_interval_seconds: u64,
    /// `fixture` (demo): path of a demo fixture, relative to the config file. Default: the
    /// fixture compiled into the binary (the same as `config/demo/stages.json`).
    pub fixture: Option<PathBuf>,
    /// `regions` (aws): regions to crawl in every account: names, or patterns with `*` and `?`
    /// (`["*"]`, `["us-*", "eu-west-1"]`) matched against the regions each account has enabled
    /// (ec2:DescribeRegions). A named region the account has not enabled is `skipped`.
    /// Default: the region of the standard AWS environment (`AWS_REGION`, the profile), else
    /// `us-east-1`.
    pub regions: Vec<String>,
    /// `accounts` (aws): accounts to crawl; an entry without `role_arn` is the default
    /// credential chain's own account. Default: just that one, unless `[source.organization]`
    /// is set.
    pub accounts: Vec<AccountConfig>,
    /// `[source.organization]` (aws): crawl every active account of the AWS organization the
    /// default credentials manage (or administer as a delegate). Default: not set.
    pub organization: Option<OrganizationConfig>,
    /// `refresh_interval_seconds` (aws): time between refreshes (plus up to 10% jitter).
    /// Default 300.
    pub refresh_interval_seconds: u64,
    /// `concurrency` (aws): (account, region) partitions crawled at once; 0 scales it with the
    /// accounts (4 per account, 16 to 1,024) so each account's rate limit, not this, is the
    /// bound. Default 0.
    pub concurrency: usize,
    /// `setup_concurrency` (aws): accounts set up at once (AssumeRole, GetCallerIdentity,
    /// DescribeRegions). Default 32.
    pub setup_concurrency: usize,
    /// `discovery_requests_per_second` (aws): client-side rate limit of the crawler's own
    /// credentials for STS AssumeRole and Organizations calls. Default 20.
    pub discovery_requests_per_second: f64,
    /// `endpoint_url` (aws, replica): endpoint for every AWS service (a replica's S3 store
    /// included), e.g. a local moto. Default: none
    /// (`AWS_ENDPOINT_URL` / `AWS_ENDPOINT_URL_APIGATEWAYV2` also work).
    pub endpoint_url: Option<String>,
    /// `attempt_timeout_seconds` (aws): per-request attempt timeout. Default 5.
    pub attempt_timeout_seconds: u64,
    /// `max_attempts` (aws): attempts per AWS request, retrying throttling, 5xx and timeouts
    /// with backoff. Default 6.
    pub max_attempts: u32,
    /// `requests_per_second` (aws): client-side rate limit per account. Default 5 (AWS allows
    /// about 10 per account, shared with everything else in it).
    pub requests_per_second: f64,
    /// `burst` (aws): requests an account may make at once before the rate applies. Default 10.
    pub burst: u32,
    /// `snapshot_path` (aws, replica): where the last good snapshot is kept (Arrow IPC),
    /// relative to the config file; loaded at startup so queries are answered before the first
    /// crawl (or, for a replica, the first download) ends, even while the store is down.
    /// Default: none (not persisted).
    pub snapshot_path: Option<PathBuf>,
    /// `emulator_credentials` (aws, replica): `[access_key_id, secret]` for a local AWS emulator such as
    /// moto. Never real keys; real deployments use the default credential chain.
    pub emulator_credentials: Option<[String; 2]>,
}

impl Default for SourceConfig {
    fn default() -> Self {
        SourceConfig {
            kind: SourceKind::Demo,
            url: None,
            store_region: None,
            poll_interval_seconds: 10,
            fixture: None,
            regions: Vec::new(),
            accounts: Vec::new(),
            organization: None,
            refresh_interval_seconds: 300,
            concurrency: 0,
            setup_concurrency: 32,
            discovery_requests_per_second: 20.0,
            endpoint_url: None,
            attempt_timeout_seconds: 5,
            max_attempts: 6,
            requests_per_second: 5.0,
            burst: 10,
            snapshot_path: None,
            emulator_credentials: None,
        }
    }
}

/// One `[[source.accounts]]` entry.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct AccountConfig {
    /// `role_arn`: role to assume; absent means the default credentials' own account.
    pub role_arn: Option<String>,
    /// `external_id`: the role's external id, if it requires one.
    pub external_id: Option<String>,
    /// `session_name`: the assumed-role session name. Default `stagesql`.
    pub session_name: Option<String>,
}

/// `[source.organization]`.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct OrganizationConfig {
    /// `member_role_name`: the role assumed in each member account,
    /// `arn:{partition}:iam::{account}:role/{member_role_name}`. Required.
    pub member_role_name: String,
    /// `external_id`: the member role's external id, if its trust policy requires one.
    pub external_id: Option<String>,
    /// `session_name`: the assumed-role session name. Default `stagesql`.
    pub session_name: Option<String>,
    /// `organizational_units`: OU ids (`ou-…`) or the root id (`r-…`) to crawl, nested OUs
    /// included. Default: the whole organization.
    pub organizational_units: Vec<String>,
    /// `exclude_organizational_units`: OU ids whose accounts (nested OUs included) are left out.
    pub exclude_organizational_units: Vec<String>,
    /// `include_accounts`: when not empty, only these account ids.
    pub include_accounts: Vec<String>,
    /// `exclude_accounts`: account ids left out.
    pub exclude_accounts: Vec<String>,
}

/// The kinds of stage source.
#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum SourceKind {
    /// Recorded GetApis/GetStages answers from a fixture file.
    Demo,
    /// The live API Gateway v2 control plane.
    Aws,
    /// What a crawler publishes to a snapshot store (`source.url`); never calls AWS APIs
    /// other than the store's.
    Replica,
}

impl SourceConfig {
    /// Checks the section once at startup; a bad value names its key.
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        if self.kind == SourceKind::Replica {
            let Some(url) = &self.url else {
                return Err(ConfigError::Invalid {
                    key: "source.url",
                    reason: "a replica needs the snapshot store's URL (the crawler's publish.url)"
                        .to_owned(),
                });
            };
            super::publish::check_store_url("source.url", url)?;
            if self.poll_interval_seconds == 0 {
                return Err(ConfigError::Invalid {
                    key: "source.poll_interval_seconds",
                    reason: "must be at least 1".to_owned(),
                });
            }
        } else if self.url.is_some() {
            return Err(ConfigError::Invalid {
                key: "source.url",
                reason: "only a replica (source.kind = \"replica\") reads a store; a crawler writes one with [publish]".to_owned(),
            });
        }
        if self.kind == SourceKind::Aws {
            let src = self;
            if let Some(bad) = src.regions.iter().find(|r| {
                r.is_empty()
                    || !r.bytes().all(|b| {
                        b.is_ascii_lowercase() || b.is_ascii_digit() || b"-*?".contains(&b)
                    })
            }) {
                return Err(ConfigError::Invalid {
                    key: "source.regions",
                    reason: format!(
                        "{bad:?} is not a region name or pattern (lower-case letters, digits, '-', and '*' or '?' as wildcards)"
                    ),
                });
            }
            if src.setup_concurrency == 0 {
                return Err(ConfigError::Invalid {
                    key: "source.setup_concurrency",
                    reason: "must be at least 1".to_owned(),
                });
            }
            if !(src.discovery_requests_per_second > 0.0
                && src.discovery_requests_per_second.is_finite())
            {
                return Err(ConfigError::Invalid {
                    key: "source.discovery_requests_per_second",
                    reason: "must be above 0".to_owned(),
                });
            }
            if let Some(org) = &src.organization {
                org.validate()?;
            }
            if src.refresh_interval_seconds == 0 {
                return Err(ConfigError::Invalid {
                    key: "source.refresh_interval_seconds",
                    reason: "must be at least 1".to_owned(),
                });
            }
            if !(src.requests_per_second > 0.0 && src.requests_per_second.is_finite())
                || src.burst == 0
            {
                return Err(ConfigError::Invalid {
                    key: "source.requests_per_second",
                    reason: "requests_per_second must be above 0 and burst at least 1".to_owned(),
                });
            }
            if src.max_attempts == 0 || src.attempt_timeout_seconds == 0 {
                return Err(ConfigError::Invalid {
                    key: "source.max_attempts",
                    reason: "max_attempts and attempt_timeout_seconds must be at least 1"
                        .to_owned(),
                });
            }
        }
        Ok(())
    }

    /// The crawler's view of this section.
    pub fn aws(&self) -> stagesql_catalog::aws::AwsSourceConfig {
        use stagesql_catalog::aws::AccountSpec;
        // No accounts named: the default credentials' own account, unless an organization
        // supplies the accounts (the crawler decides).
        let accounts = self
            .accounts
            .iter()
            .map(|a| match &a.role_arn {
                None => AccountSpec::Default,
                Some(role) => AccountSpec::AssumeRole {
                    role_arn: role.clone(),
                    external_id: a.external_id.clone(),
                    session_name: a
                        .session_name
                        .clone()
                        .unwrap_or_else(|| "stagesql".to_owned()),
                },
            })
            .collect();
        let organization =
            self.organization
                .as_ref()
                .map(|o| stagesql_catalog::aws::OrganizationSpec {
                    member_role_name: o.member_role_name.clone(),
                    external_id: o.external_id.clone(),
                    session_name: o
                        .session_name
                        .clone()
                        .unwrap_or_else(|| "stagesql".to_owned()),
                    units: o.organizational_units.clone(),
                    exclude_units: o.exclude_organizational_units.clone(),
                    include_accounts: o.include_accounts.clone(),
                    exclude_accounts: o.exclude_accounts.clone(),
                });
        stagesql_catalog::aws::AwsSourceConfig {
            regions: self.regions.clone(),
            accounts,
            organization,
            discovery_requests_per_second: self.discovery_requests_per_second,
            setup_concurrency: self.setup_concurrency,
            endpoint_url: self.endpoint_url.clone(),
            attempt_timeout: std::time::Duration::from_secs(self.attempt_timeout_seconds),
            max_attempts: self.max_attempts,
            requests_per_second: self.requests_per_second,
            burst: self.burst,
            static_credentials: self
                .emulator_credentials
                .clone()
                .map(|[id, secret]| (id, secret)),
        }
    }
}

fn account_id(id: &str) -> bool {
    id.len() == 12 && id.bytes().all(|b| b.is_ascii_digit())
}

impl OrganizationConfig {
    fn validate(&self) -> Result<(), ConfigError> {
        let name = &self.member_role_name;
        // IAM role names: 1-64 of letters, digits and +=,.@_- (a path is not part of the name).
        if name.is_empty()
            || name.len() > 64
            || !name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"+=,.@_-".contains(&b))
        {
            return Err(ConfigError::Invalid {
                key: "source.organization.member_role_name",
                reason: format!(
                    "{name:?} is not an IAM role name (1 to 64 letters, digits or +=,.@_-); it is the role each member account has for stagesql"
                ),
            });
        }
        for (key, ids) in [
            (
                "source.organization.include_accounts",
                &self.include_accounts,
            ),
            (
                "source.organization.exclude_accounts",
                &self.exclude_accounts,
            ),
        ] {
            if let Some(bad) = ids.iter().find(|id| !account_id(id)) {
                return Err(ConfigError::Invalid {
                    key,
                    reason: format!("{bad:?} is not a 12-digit account id"),
                });
            }
        }
        for (key, ids) in [
            (
                "source.organization.organizational_units",
                &self.organizational_units,
            ),
            (
                "source.organization.exclude_organizational_units",
                &self.exclude_organizational_units,
            ),
        ] {
            if let Some(bad) = ids
                .iter()
                .find(|id| !(id.starts_with("ou-") || id.starts_with("r-")) || id.len() > 68)
            {
                return Err(ConfigError::Invalid {
                    key,
                    reason: format!("{bad:?} is not an OU id (ou-…) or a root id (r-…)"),
                });
            }
        }
        Ok(())
    }
}
