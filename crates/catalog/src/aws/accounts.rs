//! Who to crawl: each account's credentials (set up one account at a time, so one refusal
//! never stops the others) and the organization's member accounts.

use std::collections::BTreeSet;
use std::sync::Arc;

use aws_config::{Region, SdkConfig};
use aws_sdk_organizations as orgs;

use super::sdk::{
    AttemptCounter, CountAttempts, Limiter, all_pages, error_message, explain, home_region,
    limiter, loader,
};
use super::{Account, AccountSpec, AwsSourceConfig, OrganizationSpec};
use crate::render::partition_for_region;

/// Sets up one account: its SDK configuration (assuming its role, if any) and its id from STS
/// GetCallerIdentity, which also proves the role can be assumed. `discovery` is the bucket of
/// the crawler's own credentials (the AssumeRole call is theirs).
pub(crate) async fn setup_account(
    spec: &AccountSpec,
    base: &SdkConfig,
    config: &AwsSourceConfig,
    discovery: &Limiter,
    counter: &Arc<AttemptCounter>,
) -> Result<Account, String> {
    let sdk = match spec {
        AccountSpec::Default => base.clone(),
        AccountSpec::AssumeRole {
            role_arn,
            external_id,
            session_name,
        } => {
            let mut provider = aws_config::sts::AssumeRoleProvider::builder(role_arn)
                .session_name(session_name)
                .region(Region::new(home_region(config)))
                .configure(base);
            if let Some(id) = external_id {
                provider = provider.external_id(id);
            }
            let provider = provider.build().await;
            let mut member = loader(config).credentials_provider(provider);
            if let Some(client) = base.http_client() {
                member = member.http_client(client);
            }
            member.load().await
        }
    };
    let account_limiter = limiter(config.requests_per_second, config.burst);
    if matches!(spec, AccountSpec::AssumeRole { .. }) {
        // GetCallerIdentity below makes the AssumeRole call first.
        discovery.until_ready().await;
    }
    account_limiter.until_ready().await;
    let sts = aws_sdk_sts::Client::from_conf(
        aws_sdk_sts::config::Builder::from(&sdk)
            .interceptor(CountAttempts {
                counter: Arc::clone(counter),
                // Not known until STS answers (the default credentials' account).
                account_id: spec
                    .account_id_hint()
                    .unwrap_or_else(|| "unknown".to_owned()),
                region: home_region(config),
            })
            .build(),
    );
    let identity = sts.get_caller_identity().send().await.map_err(|e| {
        let message = error_message(&e);
        match spec {
            AccountSpec::AssumeRole { role_arn, .. } => {
                explain(format!("cannot assume {role_arn}: {message}"))
            }
            AccountSpec::Default => explain(format!(
                "GetCallerIdentity with the default credentials failed: {message}"
            )),
        }
    })?;
    let account_id = identity
        .account()
        .map(str::to_owned)
        .ok_or_else(|| "GetCallerIdentity returned no account".to_owned())?;
    Ok(Account {
        account_id,
        config: sdk,
        limiter: Arc::new(account_limiter),
        clients: Arc::default(),
    })
}

/// One member account the organization lists.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct OrgAccount {
    /// The 12-digit id.
    pub id: String,
    /// Its name, for logs.
    pub name: String,
}

/// The organization's active accounts that `spec` selects: every account (`ListAccounts`), or
/// those under the named OUs (`ListAccountsForParent`, walking nested OUs with `ListChildren`),
/// less excluded OUs and accounts. Only `ACTIVE` accounts are kept.
pub(crate) async fn list_organization(
    base: &SdkConfig,
    config: &AwsSourceConfig,
    spec: &OrganizationSpec,
    discovery: &Limiter,
    counter: &Arc<AttemptCounter>,
) -> Result<Vec<OrgAccount>, String> {
    // Organizations has one endpoint per partition, in its home region.
    let region = match partition_for_region(&home_region(config)) {
        "aws-us-gov" => "us-gov-west-1",
        "aws-cn" => "cn-northwest-1",
        _ => "us-east-1",
    };
    let client = orgs::Client::from_conf(
        orgs::config::Builder::from(base)
            .region(Region::new(region))
            .interceptor(CountAttempts {
                counter: Arc::clone(counter),
                account_id: "organization".to_owned(),
                region: region.to_owned(),
            })
            .build(),
    );
    let walker = Walker {
        client: &client,
        discovery,
        excluded_units: spec.exclude_units.iter().cloned().collect(),
    };
    let listed = if spec.units.is_empty() {
        walker.all_accounts().await?
    } else {
        let mut listed = Vec::new();
        for unit in &spec.units {
            listed.extend(walker.accounts_under(unit).await?);
        }
        listed
    };
    // Accounts under an excluded OU go even when the whole organization is listed.
    let mut excluded: BTreeSet<String> = spec.exclude_accounts.iter().cloned().collect();
    for unit in &spec.exclude_units {
        let inner = Walker {
            client: &client,
            discovery,
            excluded_units: BTreeSet::new(),
        };
        excluded.extend(inner.accounts_under(unit).await?.into_iter().map(|a| a.id));
    }
    let mut out: Vec<OrgAccount> = listed
        .into_iter()
        .filter(|a| !excluded.contains(&a.id))
        .filter(|a| spec.include_accounts.is_empty() || spec.include_accounts.contains(&a.id))
        .collect();
    out.sort();
    out.dedup();
    Ok(out)
}

/// Walks the organization's tree with the discovery bucket.
struct Walker<'a> {
    client: &'a orgs::Client,
    discovery: &'a Limiter,
    excluded_units: BTreeSet<String>,
}

fn active(a: &orgs::types::Account) -> Option<OrgAccount> {
    let active = match (a.state(), a.status()) {
        (Some(state), _) => *state == orgs::types::AccountState::Active,
        (None, Some(status)) => *status == orgs::types::AccountStatus::Active,
        (None, None) => false,
    };
    let id = a.id()?;
    if !active {
        tracing::info!(
            account_id = id,
            "skipping an organization account that is not ACTIVE"
        );
        return None;
    }
    Some(OrgAccount {
        id: id.to_owned(),
        name: a.name().unwrap_or_default().to_owned(),
    })
}

fn failed(op: &str, e: impl std::error::Error + 'static) -> String {
    format!(
        "{op} failed: {}",
        explain(format!("{op}: {}", error_message(&e)))
    )
}

impl Walker<'_> {
    async fn all_accounts(&self) -> Result<Vec<OrgAccount>, String> {
        all_pages(self.discovery, |token| async move {
            let page = self
                .client
                .list_accounts()
                .set_next_token(token)
                .send()
                .await
                .map_err(|e| failed("ListAccounts", e))?;
            let accounts = page.accounts().iter().filter_map(active).collect();
            Ok((accounts, page.next_token().map(str::to_owned)))
        })
        .await
    }

    /// Accounts directly and indirectly under `unit` (an OU or the root), skipping excluded OUs.
    async fn accounts_under(&self, unit: &str) -> Result<Vec<OrgAccount>, String> {
        let mut out = Vec::new();
        let mut queue = vec![unit.to_owned()];
        let mut visited = BTreeSet::new();
        while let Some(parent) = queue.pop() {
            if !visited.insert(parent.clone()) || self.excluded_units.contains(&parent) {
                continue;
            }
            let parent = parent.as_str();
            let accounts = all_pages(self.discovery, |token| async move {
                let page = self
                    .client
                    .list_accounts_for_parent()
                    .parent_id(parent)
                    .set_next_token(token)
                    .send()
                    .await
                    .map_err(|e| failed("ListAccountsForParent", e))?;
                let accounts = page.accounts().iter().filter_map(active).collect();
                Ok((accounts, page.next_token().map(str::to_owned)))
            })
            .await?;
            out.extend(accounts);
            let children = all_pages(self.discovery, |token| async move {
                let page = self
                    .client
                    .list_children()
                    .parent_id(parent)
                    .child_type(orgs::types::ChildType::OrganizationalUnit)
                    .set_next_token(token)
                    .send()
                    .await
                    .map_err(|e| failed("ListChildren", e))?;
                let units = page
                    .children()
                    .iter()
                    .filter_map(|c| c.id().map(str::to_owned))
                    .collect();
                Ok((units, page.next_token().map(str::to_owned)))
            })
            .await?;
            queue.extend(children);
        }
        Ok(out)
    }
}
