//! Turning a catalog snapshot into one Arrow record batch.

use std::sync::Arc;

use datafusion::arrow::array::{
    ArrayRef, BooleanBuilder, RecordBatch, StringBuilder, TimestampMicrosecondBuilder,
};
use datafusion::arrow::error::ArrowError;
use stagesql_catalog::{Snapshot, StageRow};

use crate::schema::stage_schema;

/// Builds the record batch for every row of `snapshot`, columns in table order.
pub fn snapshot_batch(snapshot: &Snapshot) -> Result<RecordBatch, ArrowError> {
    let rows = snapshot.rows();
    let text = |f: fn(&StageRow) -> Option<&str>| -> ArrayRef {
        let mut b = StringBuilder::with_capacity(rows.len(), rows.len() * 32);
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
    let columns: Vec<ArrayRef> = vec![
        text(|r| Some(&r.key)),
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
        text(|r| Some(&r.stage_arn)),
        text(|r| Some(&r.stage_name)),
        text(|r| r.stage_variables.as_deref()),
        text(|r| r.tags.as_deref()),
        text(|r| Some(&r.region)),
        text(|r| Some(&r.api_id)),
    ];
    RecordBatch::try_new(stage_schema(), columns)
}
