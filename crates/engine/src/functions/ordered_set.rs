//! The finishing steps of PostgreSQL's ordered-set aggregates `mode() WITHIN GROUP (ORDER BY x)`
//! and `percentile_disc(f) WITHIN GROUP (ORDER BY x)`: the rewrite
//! (`rewrite/ordered_set.rs`) collects the group's non-NULL values in their order with
//! `array_agg`, and these pick the answer from that list as PostgreSQL does.

use datafusion::arrow::array::{Array, ArrayRef};
use datafusion::arrow::datatypes::DataType;
use datafusion::common::{DataFusionError, Result, ScalarValue};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};

use crate::error::EngineError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Kind {
    /// `__pg_mode(sorted values)`: the most frequent value, the first in order among ties.
    Mode,
    /// `__pg_percentile_disc(sorted values, fraction)`: the first value whose position
    /// reaches `fraction` of the values.
    PercentileDisc,
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct OrderedSet {
    name: &'static str,
    kind: Kind,
    signature: Signature,
}

/// The functions of this module.
pub fn all() -> Vec<ScalarUDF> {
    vec![
        ScalarUDF::new_from_impl(OrderedSet {
            name: "__pg_mode",
            kind: Kind::Mode,
            signature: Signature::any(1, Volatility::Immutable),
        }),
        ScalarUDF::new_from_impl(OrderedSet {
            name: "__pg_percentile_disc",
            kind: Kind::PercentileDisc,
            signature: Signature::any(2, Volatility::Immutable),
        }),
    ]
}

/// The most frequent value of sorted `values` (the first run of the greatest length).
fn mode(values: &ArrayRef) -> Result<Option<usize>> {
    let mut best: Option<(usize, usize)> = None;
    let mut run_start = 0;
    for i in 1..=values.len() {
        let run_ends = i == values.len()
            || ScalarValue::try_from_array(values, i)?
                != ScalarValue::try_from_array(values, i - 1)?;
        if run_ends {
            let len = i - run_start;
            if best.is_none_or(|(_, l)| len > l) {
                best = Some((run_start, len));
            }
            run_start = i;
        }
    }
    Ok(best.map(|(i, _)| i))
}

/// The position percentile_disc picks among `n` sorted values.
fn percentile_position(fraction: f64, n: usize) -> Result<Option<usize>> {
    if !(0.0..=1.0).contains(&fraction) {
        return Err(DataFusionError::External(Box::new(
            EngineError::NumericOutOfRange(format!(
                "percentile value {fraction} is not between 0 and 1"
            )),
        )));
    }
    if n == 0 {
        return Ok(None);
    }
    let row = (fraction * n as f64).ceil() as usize;
    Ok(Some(row.clamp(1, n) - 1))
}

impl ScalarUDFImpl for OrderedSet {
    fn name(&self) -> &str {
        self.name
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, types: &[DataType]) -> Result<DataType> {
        match types.first() {
            Some(DataType::List(item) | DataType::LargeList(item)) => Ok(item.data_type().clone()),
            Some(DataType::Null) => Ok(DataType::Null),
            other => Err(DataFusionError::Plan(format!(
                "{} expects a list, got {other:?}",
                self.name
            ))),
        }
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let returns = args.return_type().clone();
        crate::row_fn::map_rows(&args, &returns, |a| {
            let ScalarValue::List(list) = &a[0] else {
                return ScalarValue::try_from(&returns);
            };
            if list.is_null(0) {
                return ScalarValue::try_from(&returns);
            }
            let values = list.value(0);
            let at = match self.kind {
                Kind::Mode => mode(&values)?,
                Kind::PercentileDisc => match a[1].cast_to(&DataType::Float64)? {
                    ScalarValue::Float64(Some(f)) => percentile_position(f, values.len())?,
                    _ => None,
                },
            };
            match at {
                Some(i) => ScalarValue::try_from_array(&values, i),
                None => ScalarValue::try_from(&returns),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use datafusion::arrow::array::Int32Array;

    use super::*;

    #[test]
    fn mode_is_the_first_longest_run() {
        let v: ArrayRef = Arc::new(Int32Array::from(vec![1, 2, 2, 3, 3, 4]));
        assert_eq!(mode(&v).expect("ok"), Some(1));
        let v: ArrayRef = Arc::new(Int32Array::from(vec![5]));
        assert_eq!(mode(&v).expect("ok"), Some(0));
        let v: ArrayRef = Arc::new(Int32Array::from(Vec::<i32>::new()));
        assert_eq!(mode(&v).expect("ok"), None);
    }

    #[test]
    fn percentile_disc_positions() {
        assert_eq!(percentile_position(0.5, 4).expect("ok"), Some(1));
        assert_eq!(percentile_position(0.0, 4).expect("ok"), Some(0));
        assert_eq!(percentile_position(1.0, 4).expect("ok"), Some(3));
        assert_eq!(percentile_position(0.51, 4).expect("ok"), Some(2));
        assert!(percentile_position(1.5, 4).is_err());
    }
}
