//! The catalog's table functions (functions in FROM) over fixed data: `pg_get_keywords()`,
//! PostgreSQL's SQL keywords (pgjdbc's `getSQLKeywords` and DBeaver read it),
//! `pg_partition_ancestors(rel)`, which has no rows here because no relation is a partition
//! (psql's `\\d` footers and schema tools call it), and `pg_available_extensions()` (psql 18's
//! `\\dx`).

use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, BooleanArray, RecordBatch, StringArray};
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion::catalog::{MemTable, TableFunctionImpl, TableProvider};
use datafusion::error::{DataFusionError, Result};
use datafusion::logical_expr::Expr;

use crate::pg_catalog::dump;
use crate::pg_catalog::{EXTENSIONS, Extension};
use crate::schema::{PG_CHAR, PG_NAME, tagged};

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

/// `pg_available_extensions()`: `(name, default_version, comment)` of each extension that can
/// be installed, which here is exactly the installed ones.
#[derive(Debug, Default)]
pub struct AvailableExtensions;

impl TableFunctionImpl for AvailableExtensions {
    fn call(&self, args: &[Expr]) -> Result<Arc<dyn TableProvider>> {
        if !args.is_empty() {
            return Err(DataFusionError::Plan(
                "pg_available_extensions() takes no arguments".to_owned(),
            ));
        }
        let column = |f: fn(&Extension) -> &'static str| -> ArrayRef {
            Arc::new(
                EXTENSIONS
                    .iter()
                    .map(|e| Some(f(e)))
                    .collect::<StringArray>(),
            )
        };
        let schema = Arc::new(Schema::new(vec![
            tagged(Field::new("name", DataType::Utf8, true), PG_NAME),
            Field::new("default_version", DataType::Utf8, true),
            Field::new("comment", DataType::Utf8, true),
        ]));
        let batch = RecordBatch::try_new(
            Arc::clone(&schema),
            vec![
                column(|e| e.name),
                column(|e| e.version),
                column(|e| e.comment),
            ],
        )?;
        Ok(Arc::new(MemTable::try_new(schema, vec![vec![batch]])?))
    }
}
