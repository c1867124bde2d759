//! `sum`'s result type as PostgreSQL's, and the arithmetic and comparisons around a sum
//! this rule made numeric.

use datafusion::arrow::datatypes::DataType;
use datafusion::common::{DFSchema, Result};
use datafusion::logical_expr::{Cast, Expr, TryCast};

use super::{is_integer, type_of};

/// The operands of `left op right` coerced again when this rule made one of them numeric
/// after DataFusion had coerced them (`sum(bigint)` is numeric here, so `sum(x) + 1` and
/// `sum(x) > 5` meet an integer), as DataFusion's analyzer would coerce numeric and integer.
pub(super) fn recoerce(
    left: Box<Expr>,
    op: datafusion::logical_expr::Operator,
    right: Box<Expr>,
    schema: &DFSchema,
) -> Result<(Box<Expr>, Box<Expr>, bool)> {
    let (lt, rt) = (type_of(&left, schema)?, type_of(&right, schema)?);
    let mixed = |a: &DataType, b: &DataType| matches!(a, DataType::Decimal128(..)) && is_integer(b);
    // Division keeps DataFusion's refusal: its numeric quotient has fewer digits than
    // PostgreSQL's (`select_div_scale`), and a shorter quotient would be a different value.
    let divides = matches!(
        op,
        datafusion::logical_expr::Operator::Divide | datafusion::logical_expr::Operator::Modulo
    );
    if divides || !(mixed(&lt, &rt) || mixed(&rt, &lt)) {
        return Ok((left, right, false));
    }
    let (lc, rc) =
        datafusion::logical_expr::type_coercion::binary::BinaryTypeCoercer::new(&lt, &op, &rt)
            .get_input_types()?;
    let cast = |e: Box<Expr>, from: &DataType, to: DataType| {
        if *from == to {
            e
        } else {
            Box::new(Expr::Cast(Cast::new(e, to)))
        }
    };
    Ok((cast(left, &lt, lc), cast(right, &rt, rc), true))
}

/// Whether `e` is a smaller integer DataFusion cast to bigint for `sum`: `sum(integer)` and
/// `sum(smallint)` are bigint in PostgreSQL, only `sum(bigint)` is numeric.
pub(super) fn widened_small_integer(e: &Expr, schema: &DFSchema) -> Result<bool> {
    Ok(match e {
        Expr::Cast(Cast { expr, .. }) | Expr::TryCast(TryCast { expr, .. }) => matches!(
            type_of(expr, schema)?,
            DataType::Int8 | DataType::Int16 | DataType::Int32 | DataType::UInt8 | DataType::UInt16
        ),
        _ => false,
    })
}
