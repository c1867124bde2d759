//! `avg` of integers and numerics as PostgreSQL's: a numeric, the sum divided by the count
//! the way PostgreSQL divides numerics (`numeric_div.rs`). DataFusion's `avg` of
//! integers is a float8 (6.333333333333333 where PostgreSQL has 6.3333333333333333) and of
//! numerics keeps four places more than its input (1.66667 for 1.6666666666666667): other
//! numbers. `aggregates.rs` calls this for those inputs (not for `avg(DISTINCT …)`,
//! which stays DataFusion's); a float's average is DataFusion's, as in PostgreSQL.

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray};
use datafusion::arrow::datatypes::{
    DataType, Decimal128Type, Field, FieldRef, Int16Type, Int32Type, Int64Type,
};
use datafusion::common::{Result, ScalarValue, exec_err};
use datafusion::error::DataFusionError;
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::utils::format_state_name;
use datafusion::logical_expr::{Accumulator, AggregateUDFImpl, Signature, Volatility};

use super::numeric_div::{self, quotient_scale};
use crate::error::EngineError;

/// The aggregate's name (the rewritten call keeps `avg(…)` as its output name).
pub const PG_AVG: &str = "__pg_avg";

/// The input types this serves: PostgreSQL's integers and numerics.
pub fn serves(t: &DataType) -> bool {
    matches!(
        t,
        DataType::Int16 | DataType::Int32 | DataType::Int64 | DataType::Decimal128(..)
    )
}

/// The input's (precision, scale) as a numeric: an integer is a numeric of scale 0.
fn as_numeric(t: &DataType) -> Result<(u8, i8)> {
    match t {
        DataType::Int16 | DataType::Int32 | DataType::Int64 => Ok((38, 0)),
        DataType::Decimal128(p, s) => Ok((*p, *s)),
        other => exec_err!("{PG_AVG} does not take {other}"),
    }
}

/// See the module documentation.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct PgAvg {
    signature: Signature,
}

impl PgAvg {
    pub fn new() -> Self {
        PgAvg {
            signature: Signature::any(1, Volatility::Immutable),
        }
    }
}

impl Default for PgAvg {
    fn default() -> Self {
        Self::new()
    }
}

impl AggregateUDFImpl for PgAvg {
    fn name(&self) -> &str {
        PG_AVG
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, args: &[DataType]) -> Result<DataType> {
        let [input] = args else {
            return exec_err!("{PG_AVG} takes one argument");
        };
        let (_, scale) = as_numeric(input)?;
        Ok(DataType::Decimal128(38, quotient_scale(scale, 0)))
    }

    fn accumulator(&self, args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        let Some(input) = args.expr_fields.first() else {
            return exec_err!("{PG_AVG} takes one argument");
        };
        let input = as_numeric(input.data_type())?;
        Ok(Box::new(Average {
            input,
            out_scale: quotient_scale(input.1, 0),
            sum: 0,
            count: 0,
        }))
    }

    fn state_fields(&self, args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        let (_, scale) = match args.input_fields.first() {
            Some(f) => as_numeric(f.data_type())?,
            None => return exec_err!("{PG_AVG} takes one argument"),
        };
        Ok(vec![
            Arc::new(Field::new(
                format_state_name(args.name, "sum"),
                DataType::Decimal128(38, scale),
                true,
            )),
            Arc::new(Field::new(
                format_state_name(args.name, "count"),
                DataType::Int64,
                true,
            )),
        ])
    }
}

/// The running sum (at the input's scale) and count.
#[derive(Debug)]
struct Average {
    input: (u8, i8),
    out_scale: i8,
    sum: i128,
    count: i64,
}

fn overflow() -> DataFusionError {
    DataFusionError::External(Box::new(EngineError::NumericOutOfRange(
        "numeric field overflow".to_owned(),
    )))
}

/// The sum (unscaled) and count of the non-NULL values of `array`.
fn sum_and_count(array: &ArrayRef) -> Result<(i128, i64)> {
    let mut sum: i128 = 0;
    let mut count: i64 = 0;
    let mut add = |v: i128| -> Result<()> {
        sum = sum.checked_add(v).ok_or_else(overflow)?;
        count += 1;
        Ok(())
    };
    macro_rules! each {
        ($t:ty) => {
            for v in array.as_primitive::<$t>().iter().flatten() {
                add(i128::from(v))?;
            }
        };
    }
    match array.data_type() {
        DataType::Int16 => each!(Int16Type),
        DataType::Int32 => each!(Int32Type),
        DataType::Int64 => each!(Int64Type),
        DataType::Decimal128(..) => each!(Decimal128Type),
        other => return exec_err!("{PG_AVG} does not take {other}"),
    }
    Ok((sum, count))
}

impl Average {
    fn add(&mut self, sum: i128, count: i64) -> Result<()> {
        self.sum = self.sum.checked_add(sum).ok_or_else(overflow)?;
        self.count = self.count.checked_add(count).ok_or_else(overflow)?;
        Ok(())
    }
}

impl Accumulator for Average {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        let (sum, count) = sum_and_count(&values[0])?;
        self.add(sum, count)
    }

    fn retract_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        let (sum, count) = sum_and_count(&values[0])?;
        self.sum = self.sum.checked_sub(sum).ok_or_else(overflow)?;
        self.count -= count;
        Ok(())
    }

    fn supports_retract_batch(&self) -> bool {
        true
    }

    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        let sums = states[0].as_primitive::<Decimal128Type>();
        let counts = states[1].as_primitive::<Int64Type>();
        for i in 0..sums.len() {
            let sum = if sums.is_null(i) { 0 } else { sums.value(i) };
            let count = if counts.is_null(i) {
                0
            } else {
                counts.value(i)
            };
            self.add(sum, count)?;
        }
        Ok(())
    }

    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        Ok(vec![
            ScalarValue::Decimal128(Some(self.sum), 38, self.input.1),
            ScalarValue::Int64(Some(self.count)),
        ])
    }

    fn evaluate(&mut self) -> Result<ScalarValue> {
        if self.count == 0 {
            return Ok(ScalarValue::Decimal128(None, 38, self.out_scale));
        }
        let q = numeric_div::divide_with_scales(
            (self.sum, self.input),
            (i128::from(self.count), (38, 0)),
            self.out_scale,
        )?;
        Ok(ScalarValue::Decimal128(Some(q), 38, self.out_scale))
    }

    fn size(&self) -> usize {
        std::mem::size_of_val(self)
    }
}

#[cfg(test)]
mod tests {
    use datafusion::arrow::array::{Decimal128Array, Int32Array, Int64Array};

    use super::*;

    fn average(input: (u8, i8)) -> Average {
        Average {
            input,
            out_scale: quotient_scale(input.1, 0),
            sum: 0,
            count: 0,
        }
    }

    /// PostgreSQL: avg of 6, 6, 7 is 6.3333333333333333 (16 places; 20 written here).
    #[test]
    fn update_retract_and_merge_give_postgres_numbers() {
        let ints: ArrayRef = Arc::new(Int32Array::from(vec![Some(6), None, Some(6), Some(7)]));
        let mut a = average((38, 0));
        a.update_batch(&[Arc::clone(&ints)]).expect("update");
        assert_eq!(
            a.evaluate().expect("avg"),
            ScalarValue::Decimal128(Some(633_333_333_333_333_330_000), 38, 20)
        );
        // A sliding frame retracts what leaves it.
        let first: ArrayRef = Arc::new(Int32Array::from(vec![6]));
        a.retract_batch(&[first]).expect("retract");
        assert_eq!(
            a.evaluate().expect("avg"),
            ScalarValue::Decimal128(Some(650_000_000_000_000_000_000), 38, 20)
        );
        // Partial states merge: (sum 13, count 2) + (sum 5, count 1) = 6.
        let mut b = average((38, 0));
        let sums: ArrayRef = Arc::new(
            Decimal128Array::from(vec![13, 5])
                .with_precision_and_scale(38, 0)
                .expect("decimal"),
        );
        let counts: ArrayRef = Arc::new(Int64Array::from(vec![2, 1]));
        b.merge_batch(&[sums, counts]).expect("merge");
        assert_eq!(
            b.evaluate().expect("avg"),
            ScalarValue::Decimal128(Some(600_000_000_000_000_000_000), 38, 20)
        );
        // No rows: NULL.
        assert_eq!(
            average((38, 0)).evaluate().expect("avg"),
            ScalarValue::Decimal128(None, 38, 20)
        );
    }
}
