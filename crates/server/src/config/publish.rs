//! `[publish]`: the snapshot store a crawler writes every snapshot to, for replicas to serve.

use serde::{Deserialize, Serialize};

use super::ConfigError;

/// `[publish]`; off unless `url` is set.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct PublishConfig {
    /// `url`: `s3://bucket/prefix` or `file:///absolute/directory`. Default: none (not
    /// published).
    pub url: Option<String>,
    /// `region`: the bucket's region. Default: the standard AWS environment's region, else
    /// `us-east-1`.
    pub region: Option<String>,
    /// `endpoint_url`: an S3-compatible endpoint (e.g. a local moto or MinIO). Default:
    /// `source.endpoint_url`, else AWS's own.
    pub endpoint_url: Option<String>,
    /// `retain`: snapshot objects kept besides the current one, for replicas still reading
    /// an older manifest. Default 3.
    pub retain: usize,
    /// `grace_seconds`: an object is deleted only once no manifest has named it (and it was
    /// written) at least this long ago, so a replica mid-download never loses it. Default 600.
    pub grace_seconds: u64,
}

impl Default for PublishConfig {
    fn default() -> Self {
        PublishConfig {
            url: None,
            region: None,
            endpoint_url: None,
            retain: 3,
            grace_seconds: 600,
        }
    }
}

impl PublishConfig {
    pub(super) fn validate(&self, kind: super::SourceKind) -> Result<(), ConfigError> {
        let Some(url) = &self.url else {
            return Ok(());
        };
        if kind != super::SourceKind::Aws {
            return Err(ConfigError::Invalid {
                key: "publish.url",
                reason: "only a crawler (source.kind = \"aws\") publishes snapshots".to_owned(),
            });
        }
        check_store_url("publish.url", url)
    }
}

/// Checks a snapshot store URL: `s3://bucket[/prefix]` or `file:///absolute/dir`.
pub(super) fn check_store_url(key: &'static str, url: &str) -> Result<(), ConfigError> {
    let bad = |reason: &str| ConfigError::Invalid {
        key,
        reason: format!("{url:?} {reason}"),
    };
    if let Some(rest) = url.strip_prefix("s3://") {
        let bucket = rest.split('/').next().unwrap_or_default();
        // S3 bucket names: 3 to 63 of lower-case letters, digits, '.' and '-'.
        if bucket.len() < 3
            || bucket.len() > 63
            || !bucket
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-')
        {
            return Err(bad("does not name an S3 bucket (s3://bucket/prefix)"));
        }
        Ok(())
    } else if let Some(path) = url.strip_prefix("file://") {
        if !path.starts_with('/') {
            return Err(bad(
                "is not an absolute directory (file:///var/lib/stagesql/store)",
            ));
        }
        Ok(())
    } else {
        Err(bad(
            "is not s3://bucket/prefix or file:///absolute/directory",
        ))
    }
}
