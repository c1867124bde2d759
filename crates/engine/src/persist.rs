//! The last good snapshot on disk, as an Arrow IPC file, so a restart serves at once.
//!
//! Written atomically (temporary file, fsync, rename), so a crash mid-write leaves the previous
//! file. A file that is corrupt or has another schema is an error for the caller to log and
//! ignore; it never stops the server.

use std::fs::File;
use std::io::{BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

use datafusion::arrow::array::{Array, AsArray, RecordBatch};
use datafusion::arrow::datatypes::TimestampMicrosecondType;
use datafusion::arrow::ipc::reader::FileReader;
use datafusion::arrow::ipc::writer::FileWriter;
use stagesql_catalog::{Snapshot, StageRow};

use crate::batch::snapshot_batch;
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
    let batch = snapshot_batch(snapshot).map_err(|e| corrupt(&e))?;
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
    let expected = stage_schema();
    let schema = reader.schema();
    let same = schema.fields().len() == expected.fields().len()
        && schema
            .fields()
            .iter()
            .zip(expected.fields())
            .all(|(a, b)| a.name() == b.name() && a.data_type() == b.data_type());
    if !same {
        return Err(PersistError::Incompatible {
            path: path.to_owned(),
        });
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
        rows.extend(batch_rows(&batch));
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

fn batch_rows(batch: &RecordBatch) -> Vec<StageRow> {
    let text = |c: usize| batch.column(c).as_string::<i32>();
    let opt = |c: usize, i: usize| {
        let a = text(c);
        (!a.is_null(i)).then(|| a.value(i).to_owned())
    };
    let req = |c: usize, i: usize| opt(c, i).unwrap_or_default();
    let flag = |c: usize, i: usize| {
        let a = batch.column(c).as_boolean();
        (!a.is_null(i)).then(|| a.value(i))
    };
    let time = |c: usize, i: usize| {
        let a = batch.column(c).as_primitive::<TimestampMicrosecondType>();
        (!a.is_null(i)).then(|| a.value(i))
    };
    (0..batch.num_rows())
        .map(|i| StageRow {
            key: req(0, i),
            access_log_settings: opt(1, i),
            account_id: req(2, i),
            api_gateway_managed: flag(3, i),
            auto_deploy: flag(4, i),
            client_certificate_id: opt(5, i),
            created_date: time(6, i),
            default_route_settings: opt(7, i),
            deployment_id: opt(8, i),
            description: opt(9, i),
            last_deployment_status_message: opt(10, i),
            last_updated_date: time(11, i),
            route_settings: opt(12, i),
            stage_arn: req(13, i),
            stage_name: req(14, i),
            stage_variables: opt(15, i),
            tags: opt(16, i),
            region: req(17, i),
            api_id: req(18, i),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use stagesql_catalog::{BUNDLED_FIXTURE, SnapshotStore, parse_fixture};

    fn tmp(name: &str) -> PathBuf {
        std::env::temp_dir().join(format!("stagesql-persist-{}-{name}", std::process::id()))
    }

    #[test]
    fn round_trip_keeps_every_value() {
        let store = SnapshotStore::new();
        let snap = store.publish(parse_fixture(BUNDLED_FIXTURE, "bundled").expect("fixture"));
        let path = tmp("roundtrip.arrow");
        write_snapshot(&path, &snap).expect("write");
        let back = read_snapshot(&path).expect("read");
        assert_eq!(back.rows, snap.rows());
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
        let bytes = encode_snapshot(&snap).expect("encode");
        let back = decode_snapshot(&bytes, "object").expect("decode");
        assert_eq!(back.rows, snap.rows());
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
