//! Which regions to crawl in one account: `ec2:DescribeRegions` with every region, keeping
//! those the account has enabled, then the configured names and patterns.

use std::sync::Arc;

use aws_sdk_ec2 as ec2;

use super::sdk::{AttemptCounter, CountAttempts, error_message, explain, home_region};
use super::{Account, AwsSourceConfig};

/// Whether a configured region entry is a pattern (`*`, `us-*`, `eu-?est-1`).
pub fn is_pattern(entry: &str) -> bool {
    entry.contains(['*', '?'])
}

/// Whether `region` matches `pattern`: `*` is any run of characters, `?` one character.
pub fn matches(pattern: &str, region: &str) -> bool {
    fn go(p: &[u8], r: &[u8]) -> bool {
        match p.split_first() {
            None => r.is_empty(),
            Some((b'*', rest)) => (0..=r.len()).any(|i| go(rest, &r[i..])),
            Some((b'?', rest)) => !r.is_empty() && go(rest, &r[1..]),
            Some((c, rest)) => r.first() == Some(c) && go(rest, &r[1..]),
        }
    }
    go(pattern.as_bytes(), region.as_bytes())
}

/// One region as DescribeRegions reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegionInfo {
    /// e.g. `eu-south-2`.
    pub name: String,
    /// `opt-in-not-required`, `opted-in` or `not-opted-in`.
    pub opt_in_status: String,
}

impl RegionInfo {
    /// Whether the account can call services there.
    pub fn enabled(&self) -> bool {
        matches!(
            self.opt_in_status.as_str(),
            "opt-in-not-required" | "opted-in"
        )
    }
}

/// What to do with one region in one account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegionPlan {
    /// Crawl it.
    Crawl(String),
    /// Do not crawl it; the reason goes to `refresh_status` as a `skipped` row.
    Skip {
        /// The region.
        region: String,
        /// Why, in words.
        reason: String,
    },
}

/// The plan for one account from the configured entries and what DescribeRegions said.
/// Patterns pick enabled regions only (a region not enabled is not an error and not listed);
/// a region named outright that is not enabled is skipped with the reason.
pub fn plan(entries: &[String], known: &[RegionInfo]) -> Vec<RegionPlan> {
    let mut out: Vec<RegionPlan> = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    for entry in entries {
        if is_pattern(entry) {
            for r in known
                .iter()
                .filter(|r| r.enabled() && matches(entry, &r.name))
            {
                if seen.insert(r.name.clone()) {
                    out.push(RegionPlan::Crawl(r.name.clone()));
                }
            }
        } else if seen.insert(entry.clone()) {
            match known.iter().find(|r| &r.name == entry) {
                Some(r) if r.enabled() => out.push(RegionPlan::Crawl(entry.clone())),
                Some(r) => out.push(RegionPlan::Skip {
                    region: entry.clone(),
                    reason: format!(
                        "region {entry} is not enabled in this account (opt-in status {}); enable it in the account settings or drop it from source.regions",
                        r.opt_in_status
                    ),
                }),
                None => out.push(RegionPlan::Skip {
                    region: entry.clone(),
                    reason: format!(
                        "DescribeRegions does not list {entry} for this account: check the name in source.regions"
                    ),
                }),
            }
        }
    }
    out
}

/// Every region DescribeRegions lists for `account`, with its opt-in status. The calls made
/// are counted in `counter`.
pub(crate) async fn describe_regions(
    account: &Account,
    config: &AwsSourceConfig,
    counter: &Arc<AttemptCounter>,
) -> Result<Vec<RegionInfo>, String> {
    let region = home_region(config);
    let client = ec2::Client::from_conf(
        ec2::config::Builder::from(&account.config)
            .region(ec2::config::Region::new(region.clone()))
            .interceptor(CountAttempts {
                counter: Arc::clone(counter),
                account_id: account.account_id.clone(),
                region,
            })
            .build(),
    );
    account.limiter.until_ready().await;
    let out = client
        .describe_regions()
        .all_regions(true)
        .send()
        .await
        .map_err(|e| format!("DescribeRegions failed: {}", explain(error_message(&e))))?;
    Ok(out
        .regions()
        .iter()
        .filter_map(|r| {
            Some(RegionInfo {
                name: r.region_name()?.to_owned(),
                opt_in_status: r
                    .opt_in_status()
                    .unwrap_or("opt-in-not-required")
                    .to_owned(),
            })
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(name: &str, status: &str) -> RegionInfo {
        RegionInfo {
            name: name.into(),
            opt_in_status: status.into(),
        }
    }

    #[test]
    fn patterns_match_like_shell_globs() {
        assert!(matches("*", "eu-west-1"));
        assert!(matches("us-*", "us-east-1"));
        assert!(!matches("us-*", "eu-west-1"));
        assert!(matches("eu-?est-1", "eu-west-1"));
        assert!(!matches("eu-west-1", "eu-west-10"));
        assert!(matches("*-1", "ap-south-1"));
        assert!(!matches("*-1", "ap-south-2"));
        assert!(is_pattern("us-*") && !is_pattern("us-east-1"));
    }

    #[test]
    fn plans_keep_enabled_regions_and_skip_disabled_named_ones() {
        let known = [
            info("us-east-1", "opt-in-not-required"),
            info("us-west-2", "opt-in-not-required"),
            info("eu-south-2", "not-opted-in"),
            info("af-south-1", "opted-in"),
        ];
        let all = plan(&["*".into()], &known);
        assert_eq!(
            all,
            vec![
                RegionPlan::Crawl("us-east-1".into()),
                RegionPlan::Crawl("us-west-2".into()),
                RegionPlan::Crawl("af-south-1".into()),
            ]
        );
        let named = plan(
            &[
                "us-*".into(),
                "eu-south-2".into(),
                "us-east-1".into(),
                "xx-nowhere-1".into(),
            ],
            &known,
        );
        assert_eq!(named.len(), 4, "{named:?}");
        assert!(
            matches!(&named[2], RegionPlan::Skip { region, reason } if region == "eu-south-2" && reason.contains("not-opted-in"))
        );
        assert!(matches!(&named[3], RegionPlan::Skip { region, .. } if region == "xx-nowhere-1"));
    }
}
