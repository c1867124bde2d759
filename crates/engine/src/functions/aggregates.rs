//! Aggregates the engine adds to DataFusion's.
//!
//! - `__pg_scalar_subquery(x)`: the value of a scalar subquery. PostgreSQL's scalar subquery
//!   yields its only row's value, NULL without rows, and fails with 21000 ("more than one row
//!   returned by a subquery used as an expression") with several. DataFusion decorrelates a
//!   scalar subquery only when it is aggregated, so the rewrite wraps the subquery's output in
//!   this aggregate, which keeps exactly those semantics (`max` would answer a different value).
//! - `every` (`bool_and`) and `variance` (`var_samp`): PostgreSQL's names for DataFusion's.

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, Int64Array};
use datafusion::arrow::datatypes::{DataType, Field, FieldRef};
use datafusion::common::{Result, ScalarValue};
use datafusion::error::DataFusionError;
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::utils::format_state_name;
use datafusion::logical_expr::{
    Accumulator, AggregateUDF, AggregateUDFImpl, Signature, Volatility,
};

use crate::error::EngineError;

/// The name the scalar-subquery rewrite calls.
pub const SCALAR_SUBQUERY: &str = "__pg_scalar_subquery";

/// Every aggregate of this module, ready to register.
pub fn all() -> Vec<AggregateUDF> {
    use datafusion::functions_aggregate::{bool_and_or, variance};
    vec![
        AggregateUDF::from(ScalarSubqueryValue::new()),
        // PostgreSQL's other names for DataFusion's aggregates.
        bool_and_or::bool_and_udaf()
            .as_ref()
            .clone()
            .with_aliases(["every"]),
        variance::var_samp_udaf()
            .as_ref()
            .clone()
            .with_aliases(["variance"]),
    ]
}

fn too_many_rows() -> DataFusionError {
    DataFusionError::External(Box::new(EngineError::CardinalityViolation(
        "more than one row returned by a subquery used as an expression".to_owned(),
    )))
}

/// See the module documentation.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct ScalarSubqueryValue {
    signature: Signature,
}

impl ScalarSubqueryValue {
    fn new() -> Self {
        ScalarSubqueryValue {
            signature: Signature::any(1, Volatility::Immutable),
        }
    }
}

impl AggregateUDFImpl for ScalarSubqueryValue {
    fn name(&self) -> &str {
        SCALAR_SUBQUERY
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, args: &[DataType]) -> Result<DataType> {
        Ok(args[0].clone())
    }

    fn accumulator(&self, args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        let data_type = args.return_field.data_type().clone();
        Ok(Box::new(Single {
            rows: 0,
            value: ScalarValue::try_from(&data_type)?,
        }))
    }

    fn state_fields(&self, args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        Ok(vec![
            Arc::new(Field::new(
                format_state_name(args.name, "rows"),
                DataType::Int64,
                false,
            )),
            Arc::new(Field::new(
                format_state_name(args.name, "value"),
                args.return_field.data_type().clone(),
                true,
            )),
        ])
    }
}

/// Counts rows (NULLs too: two NULL rows are two rows) and keeps the first value.
#[derive(Debug)]
struct Single {
    rows: i64,
    value: ScalarValue,
}

impl Single {
    fn add(&mut self, rows: i64, first: impl FnOnce() -> Result<ScalarValue>) -> Result<()> {
        if rows == 0 {
            return Ok(());
        }
        if self.rows + rows > 1 {
            return Err(too_many_rows());
        }
        self.rows = 1;
        self.value = first()?;
        Ok(())
    }
}

impl Accumulator for Single {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        let array = &values[0];
        self.add(array.len() as i64, || ScalarValue::try_from_array(array, 0))
    }

    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        let rows = states[0]
            .as_any()
            .downcast_ref::<Int64Array>()
            .ok_or_else(|| DataFusionError::Internal("row count state".to_owned()))?;
        for i in 0..rows.len() {
            let n = rows.value(i);
            self.add(n, || ScalarValue::try_from_array(&states[1], i))?;
        }
        Ok(())
    }

    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        Ok(vec![
            ScalarValue::Int64(Some(self.rows)),
            self.value.clone(),
        ])
    }

    fn evaluate(&mut self) -> Result<ScalarValue> {
        Ok(self.value.clone())
    }

    fn size(&self) -> usize {
        std::mem::size_of_val(self) + self.value.size() - std::mem::size_of_val(&self.value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::StringArray;

    #[test]
    fn one_row_is_its_value_none_is_null_two_are_an_error() {
        let mut a = Single {
            rows: 0,
            value: ScalarValue::Utf8(None),
        };
        assert_eq!(a.evaluate().expect("empty"), ScalarValue::Utf8(None));
        let one: ArrayRef = Arc::new(StringArray::from(vec![Some("x")]));
        a.update_batch(&[Arc::clone(&one)]).expect("one row");
        assert_eq!(
            a.evaluate().expect("value"),
            ScalarValue::Utf8(Some("x".into()))
        );
        let null: ArrayRef = Arc::new(StringArray::from(vec![None::<&str>]));
        let err = a.update_batch(&[null]).expect_err("a second row");
        assert!(matches!(
            EngineError::find_in(&err),
            Some(EngineError::CardinalityViolation(_))
        ));
    }
}
