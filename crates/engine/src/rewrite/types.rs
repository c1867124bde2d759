//! Type names and typed literals as PostgreSQL reads them, where DataFusion's planner reads
//! them otherwise: `float` and `float(p)`, and `interval '…'` in PostgreSQL's input syntax.

#[allow(unused_imports)]
use super::*;

/// `float` is PostgreSQL's `double precision`, and `float(p)` is `real` up to 24 bits of
/// precision and `double precision` above (`refuse.rs` checked 1 ≤ p ≤ 53); DataFusion reads
/// every `float` as a 32-bit float, which keeps fewer digits.
pub(super) fn float_types(statement: &mut Statement, _: &Context) {
    fn pg_float(data_type: &mut DataType) {
        match data_type {
            DataType::Float(ExactNumberInfo::Precision(p)) if *p <= 24 => {
                *data_type = DataType::Real;
            }
            DataType::Float(_) => *data_type = DataType::DoublePrecision,
            DataType::Array(ArrayElemTypeDef::SquareBracket(element, _)) => pg_float(element),
            _ => {}
        }
    }
    each_expr(statement, |expr| match expr {
        Expr::Cast { data_type, .. } => pg_float(data_type),
        Expr::TypedString(typed) => pg_float(&mut typed.data_type),
        _ => {}
    });
}

/// `interval '…'` without fields is read by PostgreSQL's interval input
/// (`semantics::interval`: time fields such as `'1 day 21:30:07'`, `ago`); DataFusion's
/// planner reads it with Arrow's parser, which knows only `<number> <unit>`. The literal is
/// written back as Arrow reads it (`'0 months 1 days 77407000000000 nanoseconds'`), so it
/// stays a literal wherever DataFusion needs one (a RANGE frame's offset); text PostgreSQL
/// does not read becomes a cast, which fails when planned with PostgreSQL's error.
pub(super) fn interval_literals(statement: &mut Statement, _: &Context) {
    each_expr(statement, |expr| {
        let Expr::Interval(interval) = expr else {
            return;
        };
        let Expr::Value(ValueWithSpan {
            value: Value::SingleQuotedString(text),
            ..
        }) = interval.value.as_mut()
        else {
            return;
        };
        if interval.leading_field.is_some()
            || interval.leading_precision.is_some()
            || interval.last_field.is_some()
            || interval.fractional_seconds_precision.is_some()
        {
            return;
        }
        match crate::semantics::interval::interval_input(text) {
            Ok(v) => {
                *text = format!(
                    "{} months {} days {} nanoseconds",
                    v.months, v.days, v.nanoseconds
                );
            }
            Err(_) => {
                let value = std::mem::replace(interval.value.as_mut(), Expr::value(Value::Null));
                *expr = Expr::Cast {
                    kind: CastKind::DoubleColon,
                    expr: Box::new(value),
                    data_type: DataType::Interval {
                        fields: None,
                        precision: None,
                    },
                    array: false,
                    format: None,
                };
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::super::tests::applied;
    use super::*;

    #[test]
    fn interval_literals_are_read_as_postgres_reads_them_or_left_to_fail_as_casts() {
        assert_eq!(
            applied(
                interval_literals,
                "SELECT interval '1 day 01:00', interval '1' day, INTERVAL '2 hours ago' * 3, interval 'one day'"
            ),
            "SELECT INTERVAL '0 months 1 days 3600000000000 nanoseconds', INTERVAL '1' DAY, INTERVAL '0 months 0 days -7200000000000 nanoseconds' * 3, 'one day'::INTERVAL"
        );
    }

    #[test]
    fn float_is_double_precision_unless_its_precision_fits_real() {
        assert_eq!(
            applied(
                float_types,
                "SELECT a::float, b::float(24), c::float(25), CAST(d AS float(1)), float '1.5', e::float[]"
            ),
            "SELECT a::DOUBLE PRECISION, b::REAL, c::DOUBLE PRECISION, CAST(d AS REAL), DOUBLE PRECISION '1.5', e::DOUBLE PRECISION[]"
        );
    }
}
