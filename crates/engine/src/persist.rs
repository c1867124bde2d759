//! The last good snapshot on disk, as an Arrow IPC file, so a restart serves at once.
//!
//! Written atomically (temporary file, fsync, rename), so a crash mid-write leaves the previous
//! file. A file that is corrupt or has another schema is an error for the caller to log and
//! ignore; it never stops the server.

use std::fs::File;
use std::io::{BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::ipc::reader::FileReader;
use datafusion::arrow::ipc::writer::FileWriter;
use stagesql_catalog::{Snapshot, StageRow};

use crate::batch::{batch_row, is_stage_batch, snapshot_batch};
use crate::scan::SnapshotData;
use crate::schema::stage_schema;

/// Why a snapshot file could not be written or read.
#[derive(Debug, thiserror::Error)]
pub enum PersistError {
    /// File system trouble.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not a readable Arrow IPC file.
    #[error("{path} is not a readable snapshot: {reason}")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// The file holds another table shape (an older or newer server wrote it).
    #[error("{path} has an incompatible schema; it will be replaced by the next refresh")]
    Incompatible {
        /// The file.
        path: PathBuf,
    },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> PersistError + '_ {
    move |source| PersistError::Io {
        path: path.to_owned(),
        source,
    }
}

/// Writes `snapshot` to `path` atomically.
pub fn write_snapshot(path: &Path, snapshot: &Snapshot) -> Result<(), PersistError> {
    let tmp = path.with_extension("tmp");
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(io(dir))?;
    }
    let file = File::create(&tmp).map_err(io(&tmp))?;
    let mut buffered = write_ipc(BufWriter::new(file), snapshot, path)?;
    buffered.flush().map_err(io(&tmp))?;
    buffered
        .into_inner()
        .map_err(|e| io(&tmp)(e.into_error()))?
        .sync_all()
        .map_err(io(&tmp))?;
    std::fs::rename(&tmp, path).map_err(io(path))?;
    Ok(())
}

/// The snapshot as the bytes of an Arrow IPC file: what the snapshot file holds, and what the
/// snapshot store's objects hold.
pub fn encode_snapshot(snapshot: &Snapshot) -> Result<Vec<u8>, PersistError> {
    write_ipc(Vec::new(), snapshot, Path::new("(in memory)"))
}

/// Reads the bytes of a snapshot written by [`encode_snapshot`]; `name` (the object's key)
/// names it in errors.
pub fn decode_snapshot(bytes: &[u8], name: &str) -> Result<Persisted, PersistError> {
    read_ipc(std::io::Cursor::new(bytes), Path::new(name), || None)
}

fn write_ipc<W: Write>(out: W, snapshot: &Snapshot, path: &Path) -> Result<W, PersistError> {
    let corrupt = |e: &dyn std::fmt::Display| PersistError::Corrupt {
        path: path.to_owned(),
        reason: e.to_string(),
    };
    // The engine keeps the snapshot as its batch: written as it is, not rebuilt.
    let batch = match Arc::clone(snapshot.store())
        .as_any()
        .downcast::<SnapshotData>()
    {
        Ok(data) => data.batch().clone(),
        Err(_) => snapshot_batch(&snapshot.rows().collect::<Vec<_>>()).map_err(|e| corrupt(&e))?,
    };
    let mut writer = FileWriter::try_new(out, &stage_schema()).map_err(|e| corrupt(&e))?;
    // The crawl's time travels with the rows, so a restart serves them with their real age.
    writer.write_metadata(BUILT_AT_KEY, snapshot.built_at().to_rfc3339());
    writer.write(&batch).map_err(|e| corrupt(&e))?;
    writer.finish().map_err(|e| corrupt(&e))?;
    writer.into_inner().map_err(|e| corrupt(&e))
}

/// Reads the rows of a snapshot file written by [`write_snapshot`].
pub fn read_snapshot(path: &Path) -> Result<Persisted, PersistError> {
    let file = File::open(path).map_err(io(path))?;
    // Files written before the crawl time was recorded: the file's own time is the closest.
    read_ipc(BufReader::new(file), path, || {
        std::fs::metadata(path)
            .and_then(|m| m.modified())
            .ok()
            .map(chrono::DateTime::<chrono::Utc>::from)
    })
}

fn read_ipc<R: std::io::Read + std::io::Seek>(
    input: R,
    path: &Path,
    written_at: impl FnOnce() -> Option<chrono::DateTime<chrono::Utc>>,
) -> Result<Persisted, PersistError> {
    let corrupt = |e: &dyn std::fmt::Display| PersistError::Corrupt {
        path: path.to_owned(),
        reason: e.to_string(),
    };
    let reader = FileReader::try_new(input, None).map_err(|e| corrupt(&e))?;
    let incompatible = || PersistError::Incompatible {
        path: path.to_owned(),
    };
    if !is_stage_batch(&RecordBatch::new_empty(reader.schema())) {
        return Err(incompatible());
    }
    let built_at = reader
        .custom_metadata()
        .get(BUILT_AT_KEY)
        .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
        .map(|t| t.with_timezone(&chrono::Utc))
        .or_else(written_at)
        .unwrap_or_else(chrono::Utc::now);
    let mut rows = Vec::new();
    for batch in reader {
        let batch = batch.map_err(|e| corrupt(&e))?;
        if !is_stage_batch(&batch) {
            return Err(incompatible());
        }
        rows.extend((0..batch.num_rows()).map(|i| batch_row(&batch, i)));
    }
    Ok(Persisted { rows, built_at })
}

/// The file's metadata key for the time the rows were crawled (RFC 3339).
const BUILT_AT_KEY: &str = "stagesql.built_at";

/// A snapshot read back from disk.
#[derive(Debug)]
pub struct Persisted {
    /// The rows.
    pub rows: Vec<StageRow>,
    /// When they were crawled.
    pub built_at: chrono::DateTime<chrono::Utc>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use stagesql_catalog::{BUNDLED_FIXTURE, SnapshotStore, parse_fixture};

    fn tmp(name: &str) -> PathBuf {
        std::env::temp_dir().join(format!("stagesql-persist-{}-{name}", std::process::id()))
    }

    /// Both forms a snapshot can be kept in: plain rows (no engine) and the engine's batch.
    #[test]
    fn round_trip_keeps_every_value() {
        let fixture = parse_fixture(BUNDLED_FIXTURE, "bundled").expect("fixture");
        let plain = SnapshotStore::new();
        round_trip(&plain.publish(fixture.clone()), "plain");
        let store = Arc::new(SnapshotStore::new());
        let _engine = crate::Engine::new(
            crate::EngineConfig::new("stagesql", "stagesql"),
            Arc::clone(&store),
        )
        .expect("engine");
        let snap = store.publish(fixture);
        assert!(
            Arc::clone(snap.store())
                .as_any()
                .downcast::<SnapshotData>()
                .is_ok()
        );
        round_trip(&snap, "engine");
    }

    fn round_trip(snap: &Snapshot, name: &str) {
        let rows: Vec<StageRow> = snap.rows().collect();
        let path = tmp(&format!("roundtrip-{name}.arrow"));
        write_snapshot(&path, snap).expect("write");
        let back = read_snapshot(&path).expect("read");
        assert_eq!(back.rows, rows);
        assert_eq!(
            back.built_at.timestamp_micros(),
            snap.built_at().timestamp_micros(),
            "the crawl's time is kept, so a restart does not make old rows look fresh"
        );
        assert!(
            !path.with_extension("tmp").exists(),
            "no temporary file left behind"
        );
        let _ = std::fs::remove_file(&path);
        let bytes = encode_snapshot(snap).expect("encode");
        let back = decode_snapshot(&bytes, "object").expect("decode");
        assert_eq!(back.rows, rows);
        assert_eq!(back.built_at, snap.built_at());
        assert!(matches!(
            decode_snapshot(&bytes[..bytes.len() / 2], "object"),
            Err(PersistError::Corrupt { .. })
        ));
    }

    #[test]
    fn corrupt_and_foreign_files_are_errors() {
        let path = tmp("corrupt.arrow");
        std::fs::write(&path, b"not arrow at all").expect("write");
        assert!(matches!(
            read_snapshot(&path),
            Err(PersistError::Corrupt { .. })
        ));
        // A valid Arrow file with another schema.
        use datafusion::arrow::array::Int64Array;
        use datafusion::arrow::datatypes::{DataType, Field, Schema};
        let schema =
            std::sync::Arc::new(Schema::new(vec![Field::new("x", DataType::Int64, false)]));
        let batch = RecordBatch::try_new(
            schema.clone(),
            vec![std::sync::Arc::new(Int64Array::from(vec![1]))],
        )
        .expect("batch");
        let mut w =
            FileWriter::try_new(File::create(&path).expect("create"), &schema).expect("writer");
        w.write(&batch).expect("write");
        w.finish().expect("finish");
        assert!(matches!(
            read_snapshot(&path),
            Err(PersistError::Incompatible { .. })
        ));
        let _ = std::fs::remove_file(&path);
        assert!(matches!(read_snapshot(&path), Err(PersistError::Io { .. })));
    }
}
