//! The demo source: a bundled fixture of GetApis/GetStages answers, grouped by account and region.
//!
//! The fixture keeps AWS's own JSON shape (camelCase, `{"items": [...]}` pages) so the stages go
//! through exactly the mapping that live data uses:
//!
//! ```json
//! {"accounts": [{"accountId": "123456789012", "regions": [{"region": "us-east-1",
//!   "getApis": {"items": [{"apiId": "a1", "name": "orders", "protocolType": "HTTP"}]},
//!   "getStages": {"a1": {"items": [{"stageName": "prod", ...}]}}}]}]}
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::model::{ApiSummary, Page, Stage};
use crate::row::{StageContext, StageRow};
use crate::snapshot::{Snapshot, SnapshotStore};
use std::sync::Arc;

/// Why a fixture could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    /// The file could not be read.
    // Each cause is in the message and not a `source`, so an error chain prints it once.
    #[error("cannot read demo fixture {path}: {cause}")]
    Read {
        /// The fixture path.
        path: PathBuf,
        /// The I/O error.
        cause: std::io::Error,
    },
    /// The text is not valid fixture JSON.
    #[error("demo fixture {origin} is not valid: {cause}")]
    Parse {
        /// Where the fixture came from (a path, or "bundled").
        origin: String,
        /// The JSON error, with line and column.
        cause: serde_json::Error,
    },
    /// The JSON parsed but breaks a rule of the fixture format.
    #[error("demo fixture {origin} is inconsistent: {reason}")]
    Invalid {
        /// Where the fixture came from.
        origin: String,
        /// What is wrong.
        reason: String,
    },
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Fixture {
    accounts: Vec<FixtureAccount>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct FixtureAccount {
    account_id: String,
    regions: Vec<FixtureRegion>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct FixtureRegion {
    region: String,
    get_apis: Page<ApiSummary>,
    #[serde(default)]
    get_stages: BTreeMap<String, Page<Stage>>,
}

/// The demo fixture shipped with the server (`config/demo/stages.json`), compiled in so the
/// binary serves demo data with no files around it.
pub const BUNDLED_FIXTURE: &str = include_str!("../../../config/demo/stages.json");

/// Reads the fixture at `path`, maps every stage, and publishes the result into `store`.
pub fn load_demo_snapshot(path: &Path, store: &SnapshotStore) -> Result<Arc<Snapshot>, DemoError> {
    let text = std::fs::read_to_string(path).map_err(|cause| DemoError::Read {
        path: path.to_owned(),
        cause,
    })?;
    let rows = parse_fixture(&text, &path.display().to_string())?;
    Ok(store.publish(rows))
}

/// Maps every stage of fixture `text`; `origin` names it in errors.
pub fn parse_fixture(text: &str, origin: &str) -> Result<Vec<StageRow>, DemoError> {
    rows_from_fixture(text).map_err(|e| match e {
        FixtureError::Json(cause) => DemoError::Parse {
            origin: origin.to_owned(),
            cause,
        },
        FixtureError::Invalid(reason) => DemoError::Invalid {
            origin: origin.to_owned(),
            reason,
        },
    })
}

enum FixtureError {
    Json(serde_json::Error),
    Invalid(String),
}

fn rows_from_fixture(text: &str) -> Result<Vec<StageRow>, FixtureError> {
    let fixture: Fixture = serde_json::from_str(text).map_err(FixtureError::Json)?;
    let mut rows = Vec::new();
    for account in &fixture.accounts {
        if account.account_id.len() != 12 || !account.account_id.bytes().all(|b| b.is_ascii_digit())
        {
            return Err(FixtureError::Invalid(format!(
                "accountId {:?} is not 12 digits",
                account.account_id
            )));
        }
        for region in &account.regions {
            let mut known = BTreeMap::new();
            for api in &region.get_apis.items {
                let Some(api_id) = api.api_id.as_deref() else {
                    return Err(FixtureError::Invalid(format!(
                        "an API in {}/{} has no apiId",
                        account.account_id, region.region
                    )));
                };
                known.insert(api_id, api);
            }
            if let Some(orphan) = region
                .get_stages
                .keys()
                .find(|k| !known.contains_key(k.as_str()))
            {
                return Err(FixtureError::Invalid(format!(
                    "getStages lists API {orphan:?}, which getApis of {}/{} does not",
                    account.account_id, region.region
                )));
            }
            for api_id in known.keys() {
                let Some(page) = region.get_stages.get(*api_id) else {
                    continue;
                };
                let ctx = StageContext {
                    account_id: account.account_id.clone(),
                    region: region.region.clone(),
                    api_id: (*api_id).to_owned(),
                };
                for stage in &page.items {
                    match StageRow::from_stage(&ctx, stage) {
                        Some(row) => rows.push(row),
                        None => tracing::warn!(
                            account_id = %ctx.account_id,
                            region = %ctx.region,
                            api_id = %ctx.api_id,
                            "skipping a stage without a stageName"
                        ),
                    }
                }
            }
        }
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIXTURE: &str = r#"{"accounts": [{"accountId": "123456789012", "regions": [
        {"region": "us-east-1",
         "getApis": {"items": [{"apiId": "a1", "name": "orders", "protocolType": "HTTP", "description": null}]},
         "getStages": {"a1": {"items": [{"stageName": "prod"}, {"description": "no name"}, {"stageName": "$default"}]}}},
        {"region": "eu-west-1", "getApis": {"items": [{"apiId": "b2"}]}}]}]}"#;

    #[test]
    fn fixture_rows_go_through_the_mapping() {
        let rows = match rows_from_fixture(FIXTURE) {
            Ok(rows) => rows,
            Err(_) => panic!("fixture should load"),
        };
        let names: Vec<&str> = rows.iter().map(|r| r.stage_name.as_str()).collect();
        assert_eq!(names, ["prod", "$default"], "the nameless stage is skipped");
        assert!(
            rows.iter()
                .all(|r| r.account_id == "123456789012" && r.api_id == "a1")
        );
    }

    #[test]
    fn orphan_stages_and_bad_accounts_are_rejected() {
        let orphan = r#"{"accounts": [{"accountId": "123456789012", "regions": [{"region": "r", "getApis": {"items": []}, "getStages": {"zz": {"items": []}}}]}]}"#;
        assert!(
            matches!(rows_from_fixture(orphan), Err(FixtureError::Invalid(m)) if m.contains("zz"))
        );
        let bad = r#"{"accounts": [{"accountId": "12", "regions": []}]}"#;
        assert!(matches!(
            rows_from_fixture(bad),
            Err(FixtureError::Invalid(_))
        ));
        assert!(matches!(rows_from_fixture("{"), Err(FixtureError::Json(_))));
    }

    #[test]
    fn bundled_demo_fixture_meets_its_promises() {
        let rows = match parse_fixture(BUNDLED_FIXTURE, "bundled") {
            Ok(rows) => rows,
            Err(e) => panic!("{e}"),
        };
        assert!(rows.len() >= 40, "at least 40 stages, got {}", rows.len());
        let accounts: std::collections::BTreeSet<_> = rows.iter().map(|r| &r.account_id).collect();
        let regions: std::collections::BTreeSet<_> = rows.iter().map(|r| &r.region).collect();
        assert!(accounts.len() >= 2 && regions.len() >= 3);
        assert!(rows.iter().any(|r| r.stage_name == "$default"));
        assert!(rows.iter().any(|r| r.description.is_none()));
        assert!(rows.iter().any(|r| r.tags.as_deref() == Some("")));
        assert!(
            rows.iter().any(|r| r.client_certificate_id.is_some()),
            "a WebSocket stage"
        );
        let awkward = ['"', '\\', ',', 'é'];
        for c in awkward {
            assert!(
                rows.iter()
                    .any(|r| r.tags.as_deref().unwrap_or("").contains(c)
                        || r.stage_variables.as_deref().unwrap_or("").contains(c)),
                "some tag or stage variable contains {c:?}"
            );
        }
        assert!(
            rows.iter()
                .any(|r| r.tags.as_deref().unwrap_or("").contains("=>\"x=>y")
                    || r.stage_variables.as_deref().unwrap_or("").contains("x=>y"))
        );
    }
}
