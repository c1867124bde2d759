//! The manifest: the one small object that says which snapshot object is current, with what
//! a replica needs to verify and describe it. Replaced only by a conditional write, so it
//! always names a complete object whose checksum it carries.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use stagesql_catalog::status::PartitionStatus;

/// The manifest layout this server writes and reads.
pub const FORMAT: u32 = 1;

/// `manifest.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// [`FORMAT`]; a manifest of another format is refused (a newer server wrote it).
    pub format: u32,
    /// Rises by one with every publish to this store, whichever crawler made it.
    pub version: u64,
    /// The snapshot object's key under the store's prefix (`snapshots/…arrow`).
    pub key: String,
    /// SHA-256 of the object's bytes, lower-case hex.
    pub sha256: String,
    /// The object's size in bytes.
    pub size: u64,
    /// Rows in the snapshot.
    pub stage_count: u64,
    /// When the crawler crawled the data.
    pub built_at: DateTime<Utc>,
    /// When the crawler wrote this manifest.
    pub published_at: DateTime<Utc>,
    /// Which process published it (host and process id), for logs when two crawlers race.
    pub publisher: String,
    /// The crawler's per-partition statuses at publish time (`stagesql.refresh_status`).
    pub partitions: Vec<PartitionStatus>,
    /// Snapshot objects earlier manifests named, newest first: kept until they are beyond the
    /// retention count and were last named longer ago than the grace period.
    pub history: Vec<Retired>,
}

/// A snapshot object an earlier manifest named.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Retired {
    /// The manifest version that named it.
    pub version: u64,
    /// Its key under the prefix.
    pub key: String,
    /// When a newer manifest replaced the one naming it.
    pub retired_at: DateTime<Utc>,
}

/// SHA-256 of `bytes`, lower-case hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// The object key of a snapshot: by manifest version and content hash, so two crawlers (or a
/// retry) never write different bytes under one name.
pub fn object_key(version: u64, sha256: &str) -> String {
    let short = sha256.get(..16).unwrap_or(sha256);
    format!("{}/{version:012}-{short}.arrow", super::store::SNAPSHOTS)
}

impl Manifest {
    /// Reads a manifest; the error says what is wrong with it.
    pub fn parse(bytes: &[u8]) -> Result<Manifest, String> {
        let manifest: Manifest =
            serde_json::from_slice(bytes).map_err(|e| format!("the manifest is not valid: {e}"))?;
        if manifest.format != FORMAT {
            return Err(format!(
                "the manifest has format {}; this server reads format {FORMAT} (upgrade it)",
                manifest.format
            ));
        }
        // Only names this server writes: a key can never reach outside the store's prefix.
        let ours = |key: &str| {
            key.strip_prefix(super::store::SNAPSHOTS)
                .and_then(|rest| rest.strip_prefix('/'))
                .is_some_and(|name| {
                    !name.is_empty()
                        && !name.starts_with('.')
                        && name
                            .bytes()
                            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
                })
        };
        if let Some(bad) = manifest.protected().find(|k| !ours(k)) {
            return Err(format!(
                "the manifest names {bad:?}, not a snapshots/ object"
            ));
        }
        Ok(manifest)
    }

    /// The manifest's bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        // A struct of strings, numbers and times always serializes.
        serde_json::to_vec_pretty(self).unwrap_or_default()
    }

    /// The history the manifest after `self` carries: `self`'s object retired `now`, then the
    /// older entries still within `retain` objects or retired less than `grace` ago.
    pub fn history_after(
        &self,
        now: DateTime<Utc>,
        retain: usize,
        grace: chrono::Duration,
    ) -> Vec<Retired> {
        let mut history = vec![Retired {
            version: self.version,
            key: self.key.clone(),
            retired_at: now,
        }];
        history.extend(self.history.iter().cloned());
        let mut kept = Vec::new();
        for (i, entry) in history.into_iter().enumerate() {
            if kept.iter().any(|k: &Retired| k.key == entry.key) {
                continue;
            }
            if i < retain || now - entry.retired_at < grace {
                kept.push(entry);
            }
        }
        kept
    }

    /// Every object key this manifest protects: its own and its history's.
    pub fn protected(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.key.as_str()).chain(self.history.iter().map(|r| r.key.as_str()))
    }
}

/// Which process is publishing: `host:pid`.
pub fn publisher_id() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_owned())
        .ok()
        .filter(|h| !h.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "unknown".to_owned());
    format!("{host}:{}", std::process::id())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest(version: u64, history: Vec<Retired>) -> Manifest {
        Manifest {
            format: FORMAT,
            version,
            key: object_key(version, &sha256_hex(&version.to_le_bytes())),
            sha256: sha256_hex(&version.to_le_bytes()),
            size: 8,
            stage_count: 1,
            built_at: Utc::now(),
            published_at: Utc::now(),
            publisher: publisher_id(),
            partitions: Vec::new(),
            history,
        }
    }

    #[test]
    fn round_trips_and_refuses_other_formats_and_garbage() {
        let m = manifest(7, Vec::new());
        assert_eq!(Manifest::parse(&m.to_bytes()).expect("parse"), m);
        let mut newer = m.clone();
        newer.format = 2;
        assert!(
            Manifest::parse(&newer.to_bytes())
                .expect_err("format 2")
                .contains("format 2")
        );
        assert!(Manifest::parse(b"{\"format\": 1").is_err());
        for bad in [
            "../secret",
            "snapshots/../../etc/passwd",
            "snapshots/",
            "other/x.arrow",
        ] {
            let mut m = m.clone();
            m.key = bad.to_owned();
            assert!(
                Manifest::parse(&m.to_bytes())
                    .expect_err(bad)
                    .contains("not a snapshots/ object")
            );
        }
        assert!(m.key.starts_with("snapshots/000000000007-"));
    }

    #[test]
    fn history_keeps_the_retained_count_and_whatever_is_within_the_grace_period() {
        let now = Utc::now();
        let old = now - chrono::Duration::hours(2);
        let history = (1..=5)
            .rev()
            .map(|v| Retired {
                version: v,
                key: format!("k{v}"),
                retired_at: old,
            })
            .collect();
        let m = manifest(6, history);
        // Within no grace: the current object retired now, plus one more (retain 2).
        let kept = m.history_after(now, 2, chrono::Duration::minutes(10));
        let keys: Vec<_> = kept.iter().map(|r| r.key.as_str()).collect();
        assert_eq!(keys, vec![m.key.as_str(), "k5"]);
        // A long grace keeps everything retired within it.
        let kept = m.history_after(now, 2, chrono::Duration::hours(3));
        assert_eq!(kept.len(), 6);
    }
}
