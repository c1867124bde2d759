//! `pg_get_keywords()`: PostgreSQL's SQL keywords, as a table function (pgjdbc's
//! `getSQLKeywords` and DBeaver read it).

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
