//! Unit tests of whole rows sent from the snapshot's memo.

use std::sync::Arc;

use datafusion::arrow::array::{
    ArrayRef, BooleanArray, Int64Array, StringArray, TimestampMicrosecondArray,
};
use datafusion::arrow::compute::take_record_batch;
use pgwire::api::Type;
use stagesql_engine::values::IntervalStyle;

use super::*;
use crate::encode::encode_batch;

fn column(pg_type: Type, format: FieldFormat) -> ColumnFormat {
    ColumnFormat {
        pg_type,
        format,
        interval_style: IntervalStyle::default(),
    }
}

fn text_columns() -> Vec<ColumnFormat> {
    vec![
        column(Type::TEXT, FieldFormat::Text),
        column(Type::BOOL, FieldFormat::Text),
        column(Type::TIMESTAMP, FieldFormat::Text),
        column(Type::INT8, FieldFormat::Text),
    ]
}

/// A snapshot-like batch of `rows` rows, with NULLs in every column.
fn whole(rows: usize) -> RecordBatch {
    let text: ArrayRef = Arc::new(StringArray::from_iter((0..rows).map(|i| {
        (i % 7 != 3).then(|| format!("arn:aws:apigateway:us-east-1::/apis/a{i}/stages/s{}", i % 3))
    })));
    let flag: ArrayRef = Arc::new(BooleanArray::from_iter(
        (0..rows).map(|i| (i % 5 != 1).then_some(i % 2 == 0)),
    ));
    let when: ArrayRef =
        Arc::new(TimestampMicrosecondArray::from_iter((0..rows).map(|i| {
            (i % 11 != 4).then_some(1_700_000_000_000_000 + i as i64 * 1_234_567)
        })));
    let n: ArrayRef = Arc::new(Int64Array::from_iter(
        (0..rows).map(|i| (i % 13 != 6).then_some(i as i64 * -31)),
    ));
    RecordBatch::try_from_iter([("t", text), ("b", flag), ("ts", when), ("n", n)]).expect("batch")
}

fn bodies(rows: &[DataRow]) -> Vec<(i16, Vec<u8>)> {
    rows.iter()
        .map(|r| (r.field_count, r.data.to_vec()))
        .collect()
}

#[test]
fn rows_from_the_memo_are_the_rows_encoding_gives() {
    let columns = text_columns();
    let kind = memo_kind(&columns).expect("all text");
    let whole = whole(3 * CHUNK_ROWS + 40);
    let memo = RowMemo::new(whole.num_rows());
    // Within a chunk, across chunk ends, the last short chunk, the whole, one row.
    let slices = [
        (0, CHUNK_ROWS),
        (100, 300),
        (CHUNK_ROWS - 1, 2),
        (2 * CHUNK_ROWS + 10, CHUNK_ROWS + 30),
        (0, whole.num_rows()),
        (whole.num_rows() - 1, 1),
    ];
    for round in 0..2 {
        for (start, len) in slices {
            let chunk = whole.slice(start, len);
            let from_memo = from_memo(&chunk, &columns, &kind, &whole, &memo)
                .unwrap_or_else(|| panic!("rows {start}+{len} are the snapshot's"));
            let encoded = encode_batch(&chunk, &columns).expect("encodes");
            assert_eq!(
                bodies(&from_memo),
                bodies(&encoded),
                "rows {start}+{len}, round {round}"
            );
        }
    }
    assert!(memo.kept_bytes() > 0);
    // A slice of a slice is still the snapshot's rows.
    let inner = whole.slice(200, 400).slice(30, 100);
    let rows = from_memo(&inner, &columns, &kind, &whole, &memo).expect("a slice of a slice");
    assert_eq!(
        bodies(&rows),
        bodies(&encode_batch(&whole.slice(230, 100), &columns).expect("encodes"))
    );
}

#[test]
fn rows_that_are_not_the_snapshots_are_encoded_as_usual() {
    let columns = text_columns();
    let kind = memo_kind(&columns).expect("all text");
    let whole = whole(2 * CHUNK_ROWS);
    let memo = RowMemo::new(whole.num_rows());
    // Equal values in other memory (a filter's or a sort's copy).
    let copy = take_record_batch(
        &whole,
        &datafusion::arrow::array::UInt32Array::from_iter_values(0..100),
    )
    .expect("take");
    assert!(from_memo(&copy, &columns, &kind, &whole, &memo).is_none());
    // Another snapshot with the same values.
    let other = whole_copy(&whole);
    assert!(from_memo(&other.slice(0, 100), &columns, &kind, &whole, &memo).is_none());
    // Fewer or reordered columns.
    let projected = whole.project(&[0, 1, 2]).expect("project");
    assert!(
        from_memo(
            &projected.slice(0, 100),
            &columns[..3],
            &kind,
            &whole,
            &memo
        )
        .is_none()
    );
    let swapped = whole.project(&[0, 1, 3, 2]).expect("project");
    assert!(from_memo(&swapped.slice(0, 100), &columns, &kind, &whole, &memo).is_none());
    // One column from elsewhere.
    let mut mixed: Vec<ArrayRef> = whole.slice(0, 100).columns().to_vec();
    mixed[3] = other.slice(0, 100).column(3).clone();
    let mixed = RecordBatch::try_new(whole.schema(), mixed).expect("batch");
    assert!(from_memo(&mixed, &columns, &kind, &whole, &memo).is_none());
    // Columns of the same rows but shifted against each other.
    let mut shifted: Vec<ArrayRef> = whole.slice(0, 100).columns().to_vec();
    shifted[1] = whole.slice(1, 100).column(1).clone();
    let shifted = RecordBatch::try_new(whole.schema(), shifted).expect("batch");
    assert!(from_memo(&shifted, &columns, &kind, &whole, &memo).is_none());
    assert_eq!(
        memo.kept_bytes(),
        0,
        "nothing was kept for rows not the snapshot's"
    );
}

#[test]
fn only_text_rows_of_one_kind_are_kept() {
    let mut binary = text_columns();
    binary[3] = column(Type::INT8, FieldFormat::Binary);
    assert!(memo_kind(&binary).is_none());
    let columns = text_columns();
    let kind = memo_kind(&columns).expect("all text");
    let whole = whole(CHUNK_ROWS);
    let memo = RowMemo::new(whole.num_rows());
    assert!(from_memo(&whole.slice(0, 100), &columns, &kind, &whole, &memo).is_some());
    // Another kind (the same columns sent as varchar) finds and keeps nothing.
    let mut other = text_columns();
    other[0] = column(Type::VARCHAR, FieldFormat::Text);
    let other_kind = memo_kind(&other).expect("all text");
    assert_ne!(kind, other_kind);
    assert!(from_memo(&whole.slice(0, 100), &other, &other_kind, &whole, &memo).is_none());
}

#[test]
fn small_chunks_and_sessions_without_a_snapshot_encode_as_usual() {
    let columns = text_columns();
    let whole = whole(CHUNK_ROWS);
    let none = MemoRows::new(&columns, Box::new(|| None));
    assert!(none.encode(&whole.slice(0, 100), &columns).is_none());
    let calls = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counted = Arc::clone(&calls);
    let rows = MemoRows::new(
        &columns,
        Box::new(move || {
            counted.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            None
        }),
    );
    assert!(
        rows.encode(&whole.slice(0, MEMO_MIN_ROWS - 1), &columns)
            .is_none()
    );
    assert_eq!(
        calls.load(std::sync::atomic::Ordering::Relaxed),
        0,
        "a lookup looks for no snapshot"
    );
    assert!(
        rows.encode(&whole.slice(0, MEMO_MIN_ROWS), &columns)
            .is_none()
    );
    assert!(
        rows.encode(&whole.slice(0, MEMO_MIN_ROWS), &columns)
            .is_none()
    );
    assert_eq!(
        calls.load(std::sync::atomic::Ordering::Relaxed),
        1,
        "looked for once per response"
    );
}

/// The same values as `batch`, in memory of their own.
fn whole_copy(batch: &RecordBatch) -> RecordBatch {
    let columns = batch
        .columns()
        .iter()
        .map(|c| {
            datafusion::arrow::compute::concat(&[c.as_ref(), c.slice(0, 0).as_ref()])
                .expect("concat copies")
        })
        .collect::<Vec<_>>();
    RecordBatch::try_new(batch.schema(), columns).expect("batch")
}
