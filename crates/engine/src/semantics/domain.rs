//! The domains of PostgreSQL's math functions: where DataFusion's float functions answer
//! `-Infinity` or `NaN`, PostgreSQL refuses the argument.
//!
//! - `ln`, `log`, `log10`: zero is 2201E "cannot take logarithm of zero", a negative number
//!   2201E "cannot take logarithm of a negative number".
//! - `sqrt`: a negative number is 2201F "cannot take square root of a negative number".
//! - `power(base, exp)`: zero to a negative power is 2201F "zero raised to a negative power is
//!   undefined"; a negative base to a non-integer power is 2201F "a negative number raised to
//!   a non-integer power yields a complex result".
//!
//! [`DomainCheck`] (`__pg_domain_<kind>`) passes its first argument through unchanged once
//! every row is inside the domain, so the analyzer wraps the argument of the real function.

use datafusion::arrow::array::{Array, ArrayRef, AsArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Float64Type};
use datafusion::common::Result;
use datafusion::error::DataFusionError;
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility,
};

use crate::error::EngineError;

/// Which domain is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Domain {
    /// A logarithm's argument: positive.
    Logarithm,
    /// `log(base, x)`'s base: positive and not 1 (the division by ln(1) is 22012).
    LogBase,
    /// A square root's argument: not negative.
    SquareRoot,
    /// `power(base, exp)`'s base, given the exponent as the second argument.
    Power,
}

/// See the module documentation.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct DomainCheck {
    domain: Domain,
    signature: Signature,
}

impl DomainCheck {
    /// The check for `domain`.
    pub fn new(domain: Domain) -> Self {
        let arity = if domain == Domain::Power { 2 } else { 1 };
        DomainCheck {
            domain,
            signature: Signature::any(arity, Volatility::Immutable),
        }
    }
}

fn floats(a: &ArrayRef) -> Result<ArrayRef> {
    Ok(cast(a, &DataType::Float64)?)
}

fn refuse(domain: Domain, message: &str) -> DataFusionError {
    let message = message.to_owned();
    DataFusionError::External(Box::new(match domain {
        Domain::LogBase if message == "division by zero" => {
            return DataFusionError::ArrowError(
                Box::new(datafusion::arrow::error::ArrowError::DivideByZero),
                None,
            );
        }
        Domain::Logarithm | Domain::LogBase => EngineError::InvalidLogarithm(message),
        Domain::SquareRoot | Domain::Power => EngineError::InvalidPower(message),
    }))
}

/// The first row of `values` (with `exps` for a power) outside `domain`, as its message.
fn violation(domain: Domain, values: &ArrayRef, exps: Option<&ArrayRef>) -> Option<&'static str> {
    let values = values.as_primitive::<Float64Type>();
    for i in 0..values.len() {
        if values.is_null(i) {
            continue;
        }
        let v = values.value(i);
        match domain {
            Domain::Logarithm | Domain::LogBase if v == 0.0 => {
                return Some("cannot take logarithm of zero");
            }
            Domain::Logarithm | Domain::LogBase if v < 0.0 => {
                return Some("cannot take logarithm of a negative number");
            }
            Domain::LogBase if v == 1.0 => return Some("division by zero"),
            Domain::SquareRoot if v < 0.0 => {
                return Some("cannot take square root of a negative number");
            }
            Domain::Power => {
                let exps = exps?.as_primitive::<Float64Type>();
                let row = if exps.len() == 1 { 0 } else { i };
                if exps.is_null(row) {
                    continue;
                }
                let e = exps.value(row);
                if v == 0.0 && e < 0.0 {
                    return Some("zero raised to a negative power is undefined");
                }
                if v < 0.0 && e.is_finite() && e.fract() != 0.0 {
                    return Some(
                        "a negative number raised to a non-integer power yields a complex result",
                    );
                }
            }
            _ => {}
        }
    }
    None
}

impl ScalarUDFImpl for DomainCheck {
    fn name(&self) -> &str {
        match self.domain {
            Domain::Logarithm => "__pg_domain_log",
            Domain::LogBase => "__pg_domain_log_base",
            Domain::SquareRoot => "__pg_domain_sqrt",
            Domain::Power => "__pg_domain_power",
        }
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, args: &[DataType]) -> Result<DataType> {
        Ok(args[0].clone())
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let (arrays, _) = super::arguments(&args)?;
        let values = floats(&arrays[0])?;
        let exps = arrays.get(1).map(floats).transpose()?;
        if let Some(message) = violation(self.domain, &values, exps.as_ref()) {
            return Err(refuse(self.domain, message));
        }
        Ok(args.args[0].clone())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use datafusion::arrow::array::Float64Array;

    use super::*;

    fn arr(v: &[f64]) -> ArrayRef {
        Arc::new(Float64Array::from(v.to_vec()))
    }

    #[test]
    fn domains_refuse_like_postgres() {
        assert_eq!(
            violation(Domain::Logarithm, &arr(&[1.0, 0.0]), None),
            Some("cannot take logarithm of zero")
        );
        assert!(violation(Domain::Logarithm, &arr(&[-2.0]), None).is_some());
        assert_eq!(
            violation(Domain::LogBase, &arr(&[2.0, 1.0]), None),
            Some("division by zero")
        );
        assert!(violation(Domain::Logarithm, &arr(&[1.0]), None).is_none());
        assert!(violation(Domain::SquareRoot, &arr(&[0.0, 4.0]), None).is_none());
        assert!(violation(Domain::SquareRoot, &arr(&[-0.5]), None).is_some());
        assert!(violation(Domain::Power, &arr(&[0.0]), Some(&arr(&[-1.0]))).is_some());
        assert!(violation(Domain::Power, &arr(&[-8.0]), Some(&arr(&[3.0]))).is_none());
        assert!(violation(Domain::Power, &arr(&[-8.0]), Some(&arr(&[0.5]))).is_some());
    }
}
