//! Whole rows of the table sent from their DataRow bodies kept with the snapshot
//! (`stagesql_engine::RowMemo`), so a full fetch copies each row's bytes instead of printing
//! its values again.
//!
//! A chunk of result rows is served from the memo only when it *is* rows of the snapshot the
//! session reads: each of its columns is that column of the snapshot's batch, the same memory
//! sliced at the same row ([`slice_start`]), and every column is sent as text. Since
//! [`encode_batch`] depends on nothing but the values and the column formats, and the memo
//! holds bytes of one set of formats only (its *kind*), the bytes are exactly what encoding
//! the chunk would give. Anything else (a filter's copy, a computed column, another
//! snapshot, binary format) is encoded as before. The first reader of a memo chunk encodes
//! its [`CHUNK_ROWS`] rows and keeps them.

use std::sync::{Arc, OnceLock};

use bytes::BytesMut;
use datafusion::arrow::array::{Array, AsArray, RecordBatch};
use datafusion::arrow::datatypes::DataType;
use pgwire::api::results::FieldFormat;
use pgwire::messages::data::DataRow;
use stagesql_engine::{CHUNK_ROWS, MemoChunk, RowMemo, TableRows};

use crate::encode::{ColumnFormat, encode_batch_flat, field_count, split_rows};

/// Chunks with fewer rows (a lookup's one row) are encoded as they are.
pub(crate) const MEMO_MIN_ROWS: usize = 64;

/// Where the rows of one response may come from: the session's snapshot, looked up when the
/// first chunk large enough to use it arrives.
pub(crate) struct MemoRows {
    table: OnceLock<Option<TableRows>>,
    fetch: Box<dyn Fn() -> Option<TableRows> + Send + Sync>,
    /// The memo kind of the response's formats; `None` when a column is not text.
    kind: Option<Vec<u8>>,
}

impl MemoRows {
    /// For a response sent in `columns`, its snapshot found by `fetch`.
    pub(crate) fn new(
        columns: &[ColumnFormat],
        fetch: Box<dyn Fn() -> Option<TableRows> + Send + Sync>,
    ) -> Arc<MemoRows> {
        Arc::new(MemoRows {
            table: OnceLock::new(),
            fetch,
            kind: memo_kind(columns),
        })
    }

    /// The DataRows of `chunk` from the memo, filling it where it is empty; `None` when the
    /// chunk is not rows of the snapshot (or the memo keeps no more), to be encoded as usual.
    pub(crate) fn encode(
        &self,
        chunk: &RecordBatch,
        columns: &[ColumnFormat],
    ) -> Option<Vec<DataRow>> {
        let kind = self.kind.as_deref()?;
        if chunk.num_rows() < MEMO_MIN_ROWS {
            return None;
        }
        let table = self.table.get_or_init(|| (self.fetch)()).as_ref()?;
        from_memo(chunk, columns, kind, table.batch(), table.memo())
    }
}

/// The DataRows of `chunk` from `memo` (of `kind`), the memo of the snapshot batch `whole`,
/// filling it where it is empty; `None` when `chunk` is not rows of `whole` or the memo keeps
/// no more.
fn from_memo(
    chunk: &RecordBatch,
    columns: &[ColumnFormat],
    kind: &[u8],
    whole: &RecordBatch,
    memo: &RowMemo,
) -> Option<Vec<DataRow>> {
    let start = slice_start(chunk, whole)?;
    let field_count = field_count(chunk).ok()?;
    let end = start + chunk.num_rows();
    let mut pieces: Vec<(&MemoChunk, std::ops::Range<usize>)> = Vec::with_capacity(2);
    let mut row = start;
    while row < end {
        let index = row / CHUNK_ROWS;
        let base = index * CHUNK_ROWS;
        let kept = match memo.chunk(kind, index) {
            Some(kept) => kept,
            None => {
                let rows = CHUNK_ROWS.min(whole.num_rows() - base);
                let made = memo_chunk(&whole.slice(base, rows), columns)?;
                memo.keep(kind, index, made)?
            }
        };
        let upto = end.min(base + kept.rows());
        if upto <= row {
            return None;
        }
        pieces.push((kept, row - base..upto - base));
        row = upto;
    }
    let total = pieces
        .iter()
        .map(|(c, r)| c.rows_bytes(r.clone()).0.len())
        .sum();
    let mut buf = BytesMut::with_capacity(total);
    let mut ends = Vec::with_capacity(chunk.num_rows());
    for (kept, rows) in pieces {
        let (bytes, piece_ends) = kept.rows_bytes(rows);
        let at = buf.len();
        buf.extend_from_slice(bytes);
        ends.extend(piece_ends.map(|e| at + e));
    }
    Some(split_rows(buf, ends, field_count))
}

/// The memo kind of sending columns as `columns`: each column's type and interval style;
/// `None` unless every column is text (binary rows are not kept).
fn memo_kind(columns: &[ColumnFormat]) -> Option<Vec<u8>> {
    let mut kind = Vec::with_capacity(columns.len() * 5);
    for c in columns {
        if !matches!(c.format, FieldFormat::Text) {
            return None;
        }
        kind.extend_from_slice(&c.pg_type.oid().to_be_bytes());
        kind.push(c.interval_style as u8);
    }
    Some(kind)
}

/// Encodes `part` (rows of the snapshot) as one memo chunk; `None` if a value cannot be
/// encoded (the response then encodes its own rows and reports that).
fn memo_chunk(part: &RecordBatch, columns: &[ColumnFormat]) -> Option<MemoChunk> {
    let (bytes, ends) = encode_batch_flat(part, columns).ok()?;
    let ends = ends
        .into_iter()
        .map(u32::try_from)
        .collect::<Result<Box<[u32]>, _>>()
        .ok()?;
    MemoChunk::new(Vec::from(bytes).into_boxed_slice(), ends)
}

/// The row of `whole` where `chunk` starts, when each column of `chunk` is that column of
/// `whole` sliced there (the same memory, not equal values); `None` otherwise.
fn slice_start(chunk: &RecordBatch, whole: &RecordBatch) -> Option<usize> {
    if chunk.num_columns() != whole.num_columns() || chunk.num_rows() > whole.num_rows() {
        return None;
    }
    // A text column's offsets are the whole's, moved on by the start row.
    let (i, whole_text) = whole
        .columns()
        .iter()
        .enumerate()
        .find(|(_, a)| a.data_type() == &DataType::Utf8)?;
    let whole_offsets = whole_text
        .as_string::<i32>()
        .offsets()
        .inner()
        .inner()
        .as_ptr() as usize;
    let part_offsets = chunk
        .column(i)
        .as_string_opt::<i32>()?
        .offsets()
        .inner()
        .inner()
        .as_ptr() as usize;
    let moved = part_offsets.checked_sub(whole_offsets)?;
    if moved % size_of::<i32>() != 0 {
        return None;
    }
    let start = moved / size_of::<i32>();
    if start.checked_add(chunk.num_rows())? > whole.num_rows() {
        return None;
    }
    let same = chunk
        .columns()
        .iter()
        .zip(whole.columns())
        .all(|(part, col)| {
            part.to_data()
                .ptr_eq(&col.slice(start, chunk.num_rows()).to_data())
        });
    same.then_some(start)
}

#[cfg(test)]
#[path = "row_memo_tests.rs"]
mod tests;
