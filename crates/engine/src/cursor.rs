//! SQL cursors: `DECLARE … CURSOR [WITH HOLD] FOR query`, `FETCH`/`MOVE`, `CLOSE`.
//!
//! A cursor holds the running query's stream (on the snapshot pinned when it was declared)
//! and hands out rows on demand, so `FETCH 500` from psycopg's named cursors or psqlODBC's
//! UseDeclareFetch reads a large result in pieces. Cursors are forward-only. Those declared
//! without `WITH HOLD` close when the transaction ends, as in PostgreSQL.

use std::collections::{HashMap, VecDeque};

use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::execution::SendableRecordBatchStream;
use futures::StreamExt;
use tokio::sync::Mutex;

use crate::error::EngineError;

struct Cursor {
    schema: SchemaRef,
    stream: SendableRecordBatchStream,
    pending: VecDeque<RecordBatch>,
    hold: bool,
    /// When it was declared, in [`Cursors::mark`]s: a rollback to a mark closes the cursors
    /// declared since.
    declared: u64,
}

/// One session's open cursors.
#[derive(Default)]
pub struct Cursors {
    open: Mutex<HashMap<String, Cursor>>,
    /// Cursors declared so far.
    declared: std::sync::atomic::AtomicU64,
}

impl std::fmt::Debug for Cursors {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Cursors")
    }
}

impl Cursors {
    /// Opens cursor `name` over `stream`.
    pub async fn declare(
        &self,
        name: &str,
        schema: SchemaRef,
        stream: SendableRecordBatchStream,
        hold: bool,
    ) -> Result<(), EngineError> {
        let mut open = self.open.lock().await;
        if open.contains_key(name) {
            return Err(EngineError::DuplicateObject(format!(
                "cursor \"{name}\" already exists"
            )));
        }
        let declared = self
            .declared
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        open.insert(
            name.to_owned(),
            Cursor {
                schema,
                stream,
                pending: VecDeque::new(),
                hold,
                declared,
            },
        );
        Ok(())
    }

    /// The columns of cursor `name`.
    pub async fn schema(&self, name: &str) -> Result<SchemaRef, EngineError> {
        self.open
            .lock()
            .await
            .get(name)
            .map(|c| c.schema.clone())
            .ok_or_else(|| EngineError::UndefinedCursor(name.to_owned()))
    }

    /// The next `count` rows (all that remain when `None`) of cursor `name`.
    pub async fn fetch(
        &self,
        name: &str,
        count: Option<u64>,
    ) -> Result<(SchemaRef, Vec<RecordBatch>, u64), EngineError> {
        let mut open = self.open.lock().await;
        let cursor = open
            .get_mut(name)
            .ok_or_else(|| EngineError::UndefinedCursor(name.to_owned()))?;
        let mut remaining = count.unwrap_or(u64::MAX);
        let mut out = Vec::new();
        let mut taken = 0u64;
        while remaining > 0 {
            let batch = match cursor.pending.pop_front() {
                Some(b) => b,
                None => match cursor.stream.next().await {
                    Some(b) => b?,
                    None => break,
                },
            };
            let rows = batch.num_rows() as u64;
            if rows <= remaining {
                remaining -= rows;
                taken += rows;
                out.push(batch);
            } else {
                let n = usize::try_from(remaining).unwrap_or(usize::MAX);
                out.push(batch.slice(0, n));
                cursor
                    .pending
                    .push_front(batch.slice(n, batch.num_rows() - n));
                taken += remaining;
                remaining = 0;
            }
        }
        Ok((cursor.schema.clone(), out, taken))
    }

    /// Closes cursor `name`, or every cursor with `None`.
    pub async fn close(&self, name: Option<&str>) -> Result<(), EngineError> {
        let mut open = self.open.lock().await;
        match name {
            None => open.clear(),
            Some(n) => {
                open.remove(n)
                    .ok_or_else(|| EngineError::UndefinedCursor(n.to_owned()))?;
            }
        }
        Ok(())
    }

    /// The transaction ended: cursors without `WITH HOLD` close.
    pub async fn end_transaction(&self) {
        self.open.lock().await.retain(|_, c| c.hold);
    }

    /// Where the cursors stand now, for [`Cursors::rollback_to`].
    pub fn mark(&self) -> u64 {
        self.declared.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// A rollback to `mark`: the cursors declared since close, `WITH HOLD` or not.
    pub async fn rollback_to(&self, mark: u64) {
        self.open.lock().await.retain(|_, c| c.declared < mark);
    }
}
