//! Table functions over fixed data: `pg_get_keywords()`, PostgreSQL's SQL keywords (pgjdbc's
//! `getSQLKeywords` and DBeaver read it), and `pg_partition_ancestors(rel)`, which has no rows
//! here because no relation is a partition (psql's `\\d` footers and schema tools call it).

use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, BooleanArray, RecordBatch, StringArray};
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion::catalog::{MemTable, TableFunctionImpl, TableProvider};
use datafusion::error::{DataFusionError, Result};
use datafusion::logical_expr::Expr;

use crate::pg_catalog::dump;
use crate::schema::{PG_CHAR, tagged};

/// The `pg_get_keywords` table function.
#[derive(Debug, Default)]
pub struct PgGetKeywords;

impl TableFunctionImpl for PgGetKeywords {
    fn call(&self, args: &[Expr]) -> Result<Arc<dyn TableProvider>> {
        if !args.is_empty() {
            return Err(DataFusionError::Plan(
                "pg_get_keywords() takes no arguments".to_owned(),
            ));
        }
        let rows = &dump().map_err(DataFusionError::Internal)?.keywords;
        let text = |i: usize| -> ArrayRef {
            Arc::new(
                rows.iter()
                    .map(|r| r.get(i).cloned().flatten())
                    .collect::<StringArray>(),
            )
        };
        let schema = Arc::new(Schema::new(vec![
            Field::new("word", DataType::Utf8, true),
            tagged(Field::new("catcode", DataType::Utf8, true), PG_CHAR),
            Field::new("barelabel", DataType::Boolean, true),
            Field::new("catdesc", DataType::Utf8, true),
            Field::new("baredesc", DataType::Utf8, true),
        ]));
        let bare: ArrayRef = Arc::new(
            rows.iter()
                .map(|r| r.get(2).cloned().flatten().map(|v| v == "t"))
                .collect::<BooleanArray>(),
        );
        let batch = RecordBatch::try_new(
            Arc::clone(&schema),
            vec![text(0), text(1), bare, text(3), text(4)],
        )?;
        Ok(Arc::new(MemTable::try_new(schema, vec![vec![batch]])?))
    }
}

/// `pg_partition_ancestors(regclass)`: the relation and its ancestors when it is a partition or
/// partitioned table, no rows otherwise. Nothing here is partitioned, so it never has rows.
#[derive(Debug, Default)]
pub struct NoPartitions;

impl TableFunctionImpl for NoPartitions {
    fn call(&self, args: &[Expr]) -> Result<Arc<dyn TableProvider>> {
        if args.len() != 1 {
            return Err(DataFusionError::Plan(
                "pg_partition_ancestors() takes one argument".to_owned(),
            ));
        }
        let schema = Arc::new(Schema::new(vec![Field::new(
            "relid",
            DataType::UInt32,
            true,
        )]));
        Ok(Arc::new(MemTable::try_new(schema, vec![vec![]])?))
    }
}
