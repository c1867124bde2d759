//! A snapshot's rows as one Arrow record batch, and back.
//!
//! The batch is the only copy of a snapshot's rows the server keeps (see
//! [`stagesql_catalog::RowStore`]); [`batch_row`] gives a row back for the few paths that want
//! rows (merging a partial refresh, reading a snapshot file).

use std::sync::Arc;

use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, BooleanBuilder, RecordBatch, StringBuilder,
    TimestampMicrosecondBuilder,
};
use datafusion::arrow::datatypes::TimestampMicrosecondType;
use datafusion::arrow::error::ArrowError;
use stagesql_catalog::StageRow;

use crate::schema::stage_schema;

/// Position of `_key` in the table.
const KEY: usize = 0;
/// Position of `account_id` in the table.
pub(crate) const ACCOUNT_ID: usize = 2;
/// Position of `stage_arn` in the table.
const STAGE_ARN: usize = 13;
/// Position of `region` in the table.
pub(crate) const REGION: usize = 17;

/// Builds the record batch of `rows`, columns in table order.
///
/// `_key` is the stage ARN: when every row's `_key` equals its `stage_arn` (always, for rows
/// rendered from AWS), both columns share one array instead of storing every ARN twice.
pub fn snapshot_batch(rows: &[StageRow]) -> Result<RecordBatch, ArrowError> {
    let text = |f: fn(&StageRow) -> Option<&str>| -> ArrayRef {
        let bytes: usize = rows.iter().map(|r| f(r).map_or(0, str::len)).sum();
        let mut b = StringBuilder::with_capacity(rows.len(), bytes);
        for r in rows {
            b.append_option(f(r));
        }
        Arc::new(b.finish())
    };
    let boolean = |f: fn(&StageRow) -> Option<bool>| -> ArrayRef {
        let mut b = BooleanBuilder::with_capacity(rows.len());
        for r in rows {
            b.append_option(f(r));
        }
        Arc::new(b.finish())
    };
    let timestamp = |f: fn(&StageRow) -> Option<i64>| -> ArrayRef {
        let mut b = TimestampMicrosecondBuilder::with_capacity(rows.len());
        for r in rows {
            b.append_option(f(r));
        }
        Arc::new(b.finish())
    };
    let key = text(|r| Some(&r.key));
    let stage_arn = if rows.iter().all(|r| r.key == r.stage_arn) {
        Arc::clone(&key)
    } else {
        text(|r| Some(&r.stage_arn))
    };
    let columns: Vec<ArrayRef> = vec![
        key,
        text(|r| r.access_log_settings.as_deref()),
        text(|r| Some(&r.account_id)),
        boolean(|r| r.api_gateway_managed),
        boolean(|r| r.auto_deploy),
        text(|r| r.client_certificate_id.as_deref()),
        timestamp(|r| r.created_date),
        text(|r| r.default_route_settings.as_deref()),
        text(|r| r.deployment_id.as_deref()),
        text(|r| r.description.as_deref()),
        text(|r| r.last_deployment_status_message.as_deref()),
        timestamp(|r| r.last_updated_date),
        text(|r| r.route_settings.as_deref()),
        stage_arn,
        text(|r| Some(&r.stage_name)),
        text(|r| r.stage_variables.as_deref()),
        text(|r| r.tags.as_deref()),
        text(|r| Some(&r.region)),
        text(|r| Some(&r.api_id)),
    ];
    RecordBatch::try_new(stage_schema(), columns)
}

/// Whether `batch` has the table's columns and types (what [`batch_row`] reads).
pub(crate) fn is_stage_batch(batch: &RecordBatch) -> bool {
    let expected = stage_schema();
    let schema = batch.schema();
    schema.fields().len() == expected.fields().len()
        && schema
            .fields()
            .iter()
            .zip(expected.fields())
            .all(|(a, b)| a.name() == b.name() && a.data_type() == b.data_type())
}

/// Text column `c` of `batch`, a stage batch (see [`is_stage_batch`]).
pub(crate) fn text_value(batch: &RecordBatch, c: usize, i: usize) -> Option<&str> {
    let a = batch.column(c).as_string::<i32>();
    (!a.is_null(i)).then(|| a.value(i))
}

/// Row `i` of `batch`, a stage batch (see [`is_stage_batch`]).
pub fn batch_row(batch: &RecordBatch, i: usize) -> StageRow {
    let opt = |c: usize| text_value(batch, c, i).map(str::to_owned);
    let req = |c: usize| opt(c).unwrap_or_default();
    let flag = |c: usize| {
        let a = batch.column(c).as_boolean();
        (!a.is_null(i)).then(|| a.value(i))
    };
    let time = |c: usize| {
        let a = batch.column(c).as_primitive::<TimestampMicrosecondType>();
        (!a.is_null(i)).then(|| a.value(i))
    };
    StageRow {
        key: req(KEY),
        access_log_settings: opt(1),
        account_id: req(ACCOUNT_ID),
        api_gateway_managed: flag(3),
        auto_deploy: flag(4),
        client_certificate_id: opt(5),
        created_date: time(6),
        default_route_settings: opt(7),
        deployment_id: opt(8),
        description: opt(9),
        last_deployment_status_message: opt(10),
        last_updated_date: time(11),
        route_settings: opt(12),
        stage_arn: req(STAGE_ARN),
        stage_name: req(14),
        stage_variables: opt(15),
        tags: opt(16),
        region: req(REGION),
        api_id: req(18),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use stagesql_catalog::{BUNDLED_FIXTURE, parse_fixture};

    #[test]
    fn every_row_comes_back_as_it_went_in() {
        let rows = parse_fixture(BUNDLED_FIXTURE, "bundled").expect("fixture");
        let batch = snapshot_batch(&rows).expect("batch");
        assert!(is_stage_batch(&batch));
        let back: Vec<StageRow> = (0..batch.num_rows())
            .map(|i| batch_row(&batch, i))
            .collect();
        assert_eq!(back, rows);
    }

    #[test]
    fn key_and_arn_share_one_array_only_when_equal() {
        let mut rows = parse_fixture(BUNDLED_FIXTURE, "bundled").expect("fixture");
        let batch = snapshot_batch(&rows).expect("batch");
        assert!(Arc::ptr_eq(batch.column(KEY), batch.column(STAGE_ARN)));
        rows[0].key = "a different key".into();
        let batch = snapshot_batch(&rows).expect("batch");
        assert!(!Arc::ptr_eq(batch.column(KEY), batch.column(STAGE_ARN)));
        assert_eq!(
            batch_row(&batch, 0),
            rows[0],
            "each column keeps its own values"
        );
    }
}
