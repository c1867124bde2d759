//! PostgreSQL's meaning where DataFusion's differs, applied to every logical plan after type
//! coercion (an analyzer rule), so each class of difference is fixed once, for every query:
//!
//! - **Interval comparison** ([`interval`]): PostgreSQL compares intervals by their span, a
//!   month counting 30 days and a day 24 hours (`interval '1 day' = interval '24 hours'`);
//!   DataFusion compares (months, days, nanoseconds) field by field. Comparisons, BETWEEN and
//!   ORDER BY on intervals go through the span.
//! - **Timestamp difference** ([`interval`]): `timestamp - timestamp` is an interval of days
//!   and time (`3 days 00:35:18`), as PostgreSQL's `timestamp_mi` justifies hours into days;
//!   DataFusion keeps only a time (`72:35:18`).
//! - **AT TIME ZONE** ([`interval::LocalTime`]): `timestamptz AT TIME ZONE 'zone'` is the
//!   wall-clock time in that zone (a timestamp); DataFusion kept the instant.
//! - **Numbers** ([`numeric`]): text read as an integer follows PostgreSQL's input function
//!   (whitespace and a sign allowed, 22P02 for anything else, 22003 out of range), integer
//!   overflow fails (22003), float and numeric division
//!   by zero fails (22012), casts to integers and `round(float8)` round as PostgreSQL does;
//!   numeric division keeps PostgreSQL's quotient scale (`numeric_div.rs`); a real meeting
//!   an integer or numeric is computed in double precision ([`promotions`]).
//! - **Functions whose meaning differs**: `array_remove` removes every match (DataFusion's
//!   `array_remove_all`), `array_length` is int4 and NULL for an empty array, `sum(bigint)` is
//!   numeric (no overflow; [`aggregates`], a rule run before DataFusion's type coercion, keeps
//!   `sum(integer)` bigint, and makes `avg` of integers and numerics PostgreSQL's numeric),
//!   `date ± interval` is a timestamp.
//! - **Math domains** ([`domain`]): `ln`/`log` of zero or a negative number, `sqrt` of a
//!   negative number and powers with no real answer fail (2201E/2201F); DataFusion answered
//!   `-Infinity` or `NaN`. `nth_value(x, n)` needs n > 0 (22016).
//! - **json has no equality** ([`json_equality`]): comparing, grouping, sorting, joining or DISTINCT
//!   on `json` is 42883 as in PostgreSQL; `jsonb` compares by its canonical text, and its
//!   ordering (not text order in PostgreSQL) is refused with 0A000.
//! - **base64** ([`encode`]): `encode(x, 'base64')` padded and in 76-character lines.
//! - **json input** ([`json`]): text cast to json/jsonb must be JSON (22P02); text cast to
//!   hstore is parsed and written in hstore's own form (`'b=>1, a=>2'::hstore` prints
//!   `"a"=>"2", "b"=>"1"`).
//! - **Untyped literals** ([`unknown`], before type coercion): `CASE … THEN 1 ELSE '2'` and
//!   `SELECT 1 UNION SELECT '2'` read the literal as the other branches' type, as PostgreSQL's
//!   `unknown` does; DataFusion made everything text.
//! - **Dates and times from text** ([`datetime_in`]): `'2026-01-05 10:00'::timestamp`,
//!   zones, `'epoch'`/`'today'`; out-of-range fields are 22008, non-dates 22007.
//! - **Text of a value** ([`to_text`]): a cast to text (or the implicit one `||` makes)
//!   prints timestamps, dates, intervals, floats, arrays and bytea as PostgreSQL does.
//! - **SIMILAR TO** ([`similar`]): the SQL pattern is translated to the anchored regular
//!   expression PostgreSQL matches (`%`, `_`, escapes); DataFusion matched nothing.

pub mod aggregates;
mod avg;
mod casts;
pub mod datetime_in;
pub mod domain;
pub mod encode;
pub mod interval;
pub mod json;
pub mod json_equality;
pub mod numeric;
mod numeric_div;
mod pre_coercion;
pub mod promotions;
pub mod similar;
pub mod to_text;
pub mod unknown;

use std::sync::Arc;

use datafusion::arrow::datatypes::DataType;
use datafusion::common::tree_node::{Transformed, TreeNode};
use datafusion::common::{DFSchema, Result, ScalarValue};
use datafusion::config::ConfigOptions;
use datafusion::logical_expr::expr::ScalarFunction;
use datafusion::logical_expr::expr_rewriter::NamePreserver;
use datafusion::logical_expr::utils::merge_schema;
use datafusion::logical_expr::{
    Between, BinaryExpr, Cast, Expr, ExprSchemable, LogicalPlan, Operator, ScalarUDF, SortExpr,
    TryCast,
};
use datafusion::optimizer::AnalyzerRule;

use json_equality::{
    json_comparison, json_keys, json_kind, no_equality, no_ordering, undefined_operator,
};

/// The analyzer rule applying this module's semantics.
#[derive(Debug, Clone)]
pub struct PgSemantics {
    span: Arc<ScalarUDF>,
    justify: Arc<ScalarUDF>,
    similar: Arc<ScalarUDF>,
    int_add: Arc<ScalarUDF>,
    int_sub: Arc<ScalarUDF>,
    int_mul: Arc<ScalarUDF>,
    nonzero: Arc<ScalarUDF>,
    numeric_div: Arc<ScalarUDF>,
    round_half: Arc<ScalarUDF>,
    json_in: Arc<ScalarUDF>,
    jsonb_in: Arc<ScalarUDF>,
    jsonb_key: Arc<ScalarUDF>,
    to_text: Arc<ScalarUDF>,
    bytea_in: Arc<ScalarUDF>,
    date_in: Arc<ScalarUDF>,
    interval_in: Arc<ScalarUDF>,
    numeric_in: Arc<ScalarUDF>,
    int2_in: Arc<ScalarUDF>,
    int4_in: Arc<ScalarUDF>,
    int8_in: Arc<ScalarUDF>,
    timestamp_in: Arc<ScalarUDF>,
    timestamptz_in: Arc<ScalarUDF>,
    hstore_in: Arc<ScalarUDF>,
    base64: Arc<ScalarUDF>,
    local_time: Arc<ScalarUDF>,
    log_domain: Arc<ScalarUDF>,
    log_base_domain: Arc<ScalarUDF>,
    sqrt_domain: Arc<ScalarUDF>,
    power_domain: Arc<ScalarUDF>,
}

impl PgSemantics {
    /// The rule, given the hstore input function (registered with the operators), which a
    /// cast of text to hstore calls.
    pub fn new(hstore_in: Arc<ScalarUDF>) -> Self {
        PgSemantics {
            span: Arc::new(ScalarUDF::from(interval::IntervalSpan::new())),
            justify: Arc::new(ScalarUDF::from(interval::JustifyDifference::new())),
            similar: Arc::new(similar::udf()),
            int_add: Arc::new(ScalarUDF::from(numeric::CheckedArithmetic::new(
                numeric::IntOp::Add,
            ))),
            int_sub: Arc::new(ScalarUDF::from(numeric::CheckedArithmetic::new(
                numeric::IntOp::Sub,
            ))),
            int_mul: Arc::new(ScalarUDF::from(numeric::CheckedArithmetic::new(
                numeric::IntOp::Mul,
            ))),
            nonzero: Arc::new(ScalarUDF::from(numeric::NonZero::new())),
            numeric_div: Arc::new(ScalarUDF::from(numeric_div::NumericDiv::new())),
            round_half: Arc::new(ScalarUDF::from(numeric::RoundHalf::new())),
            json_in: Arc::new(json::udf()),
            jsonb_in: Arc::new(json::jsonb_udf()),
            jsonb_key: Arc::new(json::jsonb_key_udf()),
            to_text: Arc::new(ScalarUDF::from(to_text::ToText::new())),
            bytea_in: Arc::new(encode::bytea_udf()),
            numeric_in: Arc::new(numeric::numeric_in_udf()),
            int2_in: Arc::new(numeric::integer_in_udf(DataType::Int16)),
            int4_in: Arc::new(numeric::integer_in_udf(DataType::Int32)),
            int8_in: Arc::new(numeric::integer_in_udf(DataType::Int64)),
            date_in: Arc::new(ScalarUDF::from(datetime_in::DatetimeIn::new(
                datetime_in::Target::Date,
            ))),
            interval_in: Arc::new(interval::interval_in_udf()),
            timestamp_in: Arc::new(ScalarUDF::from(datetime_in::DatetimeIn::new(
                datetime_in::Target::Timestamp,
            ))),
            timestamptz_in: Arc::new(ScalarUDF::from(datetime_in::DatetimeIn::new(
                datetime_in::Target::TimestampTz,
            ))),
            base64: Arc::new(encode::udf()),
            local_time: Arc::new(ScalarUDF::from(interval::LocalTime::new())),
            log_domain: Arc::new(ScalarUDF::from(domain::DomainCheck::new(
                domain::Domain::Logarithm,
            ))),
            log_base_domain: Arc::new(ScalarUDF::from(domain::DomainCheck::new(
                domain::Domain::LogBase,
            ))),
            sqrt_domain: Arc::new(ScalarUDF::from(domain::DomainCheck::new(
                domain::Domain::SquareRoot,
            ))),
            power_domain: Arc::new(ScalarUDF::from(domain::DomainCheck::new(
                domain::Domain::Power,
            ))),
            hstore_in,
        }
    }
}

/// The type of `e`; `Null` when it cannot be known yet (a parameter not typed before its
/// value arrives), so no rule applies to it.
/// A UDF's arguments as arrays, and whether they were all scalars (so the answer is one).
pub(crate) fn arguments(
    args: &datafusion::logical_expr::ScalarFunctionArgs,
) -> Result<(Vec<datafusion::arrow::array::ArrayRef>, bool)> {
    use datafusion::logical_expr::ColumnarValue;
    let scalar = args
        .args
        .iter()
        .all(|a| matches!(a, ColumnarValue::Scalar(_)));
    let rows = if scalar { 1 } else { args.number_rows };
    let arrays = args
        .args
        .iter()
        .map(|a| a.to_array(rows))
        .collect::<Result<Vec<_>>>()?;
    Ok((arrays, scalar))
}

/// The answer for [`arguments`]: a scalar when every argument was one.
pub(crate) fn answer(
    out: datafusion::arrow::array::ArrayRef,
    scalar: bool,
) -> Result<datafusion::logical_expr::ColumnarValue> {
    use datafusion::logical_expr::ColumnarValue;
    Ok(if scalar {
        ColumnarValue::Scalar(ScalarValue::try_from_array(&out, 0)?)
    } else {
        ColumnarValue::Array(out)
    })
}

fn type_of(e: &Expr, schema: &DFSchema) -> Result<DataType> {
    Ok(e.to_field(schema)
        .map(|(_, f)| f.data_type().clone())
        .unwrap_or(DataType::Null))
}

fn is_interval(t: &DataType) -> bool {
    matches!(t, DataType::Interval(_))
}

/// The zone `timestamptz` values carry here (the engine's `execution.time_zone`).
pub(crate) const SESSION_ZONE: &str = "+00:00";

fn is_integer(t: &DataType) -> bool {
    matches!(t, DataType::Int16 | DataType::Int32 | DataType::Int64)
}

/// Floats and numerics: the types whose division by zero DataFusion does not refuse.
fn is_inexact_number(t: &DataType) -> bool {
    matches!(
        t,
        DataType::Float32
            | DataType::Float64
            | DataType::Decimal128(_, _)
            | DataType::Decimal256(_, _)
    )
}

fn is_timestamp(t: &DataType) -> bool {
    matches!(t, DataType::Timestamp(_, _))
}

fn is_comparison(op: Operator) -> bool {
    matches!(
        op,
        Operator::Eq
            | Operator::NotEq
            | Operator::Lt
            | Operator::LtEq
            | Operator::Gt
            | Operator::GtEq
            | Operator::IsDistinctFrom
            | Operator::IsNotDistinctFrom
    )
}

impl PgSemantics {
    fn call(udf: &Arc<ScalarUDF>, arg: Expr) -> Expr {
        Expr::ScalarFunction(ScalarFunction::new_udf(Arc::clone(udf), vec![arg]))
    }

    fn span_of(&self, e: Expr) -> Expr {
        Self::call(&self.span, e)
    }

    /// One expression (its children already done).
    fn expr(&self, e: Expr, schema: &DFSchema) -> Result<Transformed<Expr>> {
        match e {
            Expr::BinaryExpr(BinaryExpr { left, op, right }) => {
                if is_comparison(op) {
                    self.comparison(left, op, right, schema)
                } else {
                    self.arithmetic(left, op, right, schema)
                }
            }
            Expr::Cast(cast) => self.cast(cast, schema),
            Expr::TryCast(TryCast { expr, field }) if is_integer(field.data_type()) => {
                let from = type_of(&expr, schema)?;
                let expr = if is_inexact_number(&from) {
                    Box::new(Self::call(&self.round_half, *expr))
                } else {
                    return Ok(Transformed::no(Expr::TryCast(TryCast { expr, field })));
                };
                Ok(Transformed::yes(Expr::TryCast(TryCast { expr, field })))
            }
            e @ Expr::ScalarFunction(_) => self.function(e, schema),
            e @ Expr::AggregateFunction(_) => self.aggregate(e, schema),
            e @ Expr::WindowFunction(_) => window(e, schema),
            Expr::Between(Between {
                expr,
                negated,
                low,
                high,
            }) => {
                let t = type_of(&expr, schema)?;
                if is_interval(&t) {
                    return Ok(Transformed::yes(Expr::Between(Between::new(
                        Box::new(self.span_of(*expr)),
                        negated,
                        Box::new(self.span_of(*low)),
                        Box::new(self.span_of(*high)),
                    ))));
                }
                Ok(Transformed::no(Expr::Between(Between::new(
                    expr, negated, low, high,
                ))))
            }
            Expr::InList(list) => {
                for item in &list.list {
                    json_comparison(&list.expr, Operator::Eq, item, schema)?;
                }
                Ok(Transformed::no(Expr::InList(list)))
            }
            Expr::SimilarTo(like) => {
                let escape = match like.escape_char {
                    Some(c) => Expr::Literal(ScalarValue::Utf8(Some(c.to_string())), None),
                    None => Expr::Literal(ScalarValue::Utf8(Some("\\".to_owned())), None),
                };
                let regex = Expr::ScalarFunction(ScalarFunction::new_udf(
                    Arc::clone(&self.similar),
                    vec![*like.pattern, escape],
                ));
                let op = match (like.negated, like.case_insensitive) {
                    (false, false) => Operator::RegexMatch,
                    (true, false) => Operator::RegexNotMatch,
                    (false, true) => Operator::RegexIMatch,
                    (true, true) => Operator::RegexNotIMatch,
                };
                Ok(Transformed::yes(Expr::BinaryExpr(BinaryExpr::new(
                    like.expr,
                    op,
                    Box::new(regex),
                ))))
            }
            other => Ok(Transformed::no(other)),
        }
    }

    /// A comparison: jsonb by its canonical text, intervals by their span.
    fn comparison(
        &self,
        left: Box<Expr>,
        op: Operator,
        right: Box<Expr>,
        schema: &DFSchema,
    ) -> Result<Transformed<Expr>> {
        json_comparison(&left, op, &right, schema)?;
        if json_kind(&left, schema).is_some() || json_kind(&right, schema).is_some() {
            // jsonb equality: by the canonical text, numbers by value.
            return Ok(Transformed::yes(Expr::BinaryExpr(BinaryExpr::new(
                Box::new(Self::call(&self.jsonb_key, *left)),
                op,
                Box::new(Self::call(&self.jsonb_key, *right)),
            ))));
        }
        let lt = type_of(&left, schema)?;
        let rt = type_of(&right, schema)?;
        if is_interval(&lt) && is_interval(&rt) {
            return Ok(Transformed::yes(Expr::BinaryExpr(BinaryExpr::new(
                Box::new(self.span_of(*left)),
                op,
                Box::new(self.span_of(*right)),
            ))));
        }
        Ok(Transformed::no(Expr::BinaryExpr(BinaryExpr {
            left,
            op,
            right,
        })))
    }

    /// Arithmetic: `date ± interval` is a timestamp, timestamp differences are justified,
    /// integer overflow is an error, and float division by zero too.
    fn arithmetic(
        &self,
        left: Box<Expr>,
        op: Operator,
        right: Box<Expr>,
        schema: &DFSchema,
    ) -> Result<Transformed<Expr>> {
        let lt = type_of(&left, schema)?;
        let rt = type_of(&right, schema)?;
        // `date + 7` is coerced to `date + CAST(CAST(7 * 86400 AS Duration) AS
        // Interval)`: whole days, and a date in PostgreSQL.
        let days = |e: &Expr| {
            matches!(e, Expr::Cast(c)
                if matches!(type_of(&c.expr, schema), Ok(DataType::Duration(_))))
        };
        if matches!(op, Operator::Plus | Operator::Minus)
            && ((lt == DataType::Date32 && is_interval(&rt) && !days(&right))
                || (is_interval(&lt) && rt == DataType::Date32 && !days(&left)))
        {
            // date ± interval is a timestamp in PostgreSQL; DataFusion keeps a date
            // and drops the time of day.
            let stamp = |e: Box<Expr>, t: &DataType| -> Box<Expr> {
                if *t == DataType::Date32 {
                    Box::new(Expr::Cast(Cast::new(
                        e,
                        DataType::Timestamp(
                            datafusion::arrow::datatypes::TimeUnit::Microsecond,
                            None,
                        ),
                    )))
                } else {
                    e
                }
            };
            return Ok(Transformed::yes(Expr::BinaryExpr(BinaryExpr::new(
                stamp(left, &lt),
                op,
                stamp(right, &rt),
            ))));
        }
        if op == Operator::Minus && lt == DataType::Date32 && rt == DataType::Date32 {
            // `date - date` is an integer count of days in PostgreSQL (a bigint here).
            let e = Expr::BinaryExpr(BinaryExpr::new(left, op, right));
            if type_of(&e, schema)? != DataType::Int32 {
                return Ok(Transformed::yes(Expr::Cast(Cast::new(
                    Box::new(e),
                    DataType::Int32,
                ))));
            }
            return Ok(Transformed::no(e));
        }
        if op == Operator::Minus && is_timestamp(&lt) && is_timestamp(&rt) {
            let e = Expr::BinaryExpr(BinaryExpr::new(left, op, right));
            return Ok(Transformed::yes(Self::call(&self.justify, e)));
        }
        let checked = match op {
            Operator::Plus => Some(&self.int_add),
            Operator::Minus => Some(&self.int_sub),
            Operator::Multiply => Some(&self.int_mul),
            _ => None,
        };
        if let Some(udf) = checked
            && is_integer(&lt)
            && lt == rt
        {
            return Ok(Transformed::yes(Expr::ScalarFunction(
                ScalarFunction::new_udf(Arc::clone(udf), vec![*left, *right]),
            )));
        }
        let decimal = |t: &DataType| matches!(t, DataType::Decimal128(..));
        if op == Operator::Divide
            && (decimal(&lt) || decimal(&rt))
            && (decimal(&lt) || is_integer(&lt))
            && (decimal(&rt) || is_integer(&rt))
        {
            // Numeric division keeps PostgreSQL's quotient scale (`numeric_div.rs`); an
            // integer operand is a numeric of scale 0 there.
            let numeric = |e: Box<Expr>, t: &DataType| -> Expr {
                if decimal(t) {
                    *e
                } else {
                    Expr::Cast(Cast::new(e, DataType::Decimal128(20, 0)))
                }
            };
            return Ok(Transformed::yes(Expr::ScalarFunction(
                ScalarFunction::new_udf(
                    Arc::clone(&self.numeric_div),
                    vec![numeric(left, &lt), numeric(right, &rt)],
                ),
            )));
        }
        if matches!(op, Operator::Divide | Operator::Modulo) && is_inexact_number(&rt) {
            let right = Box::new(Self::call(&self.nonzero, *right));
            return Ok(Transformed::yes(Expr::BinaryExpr(BinaryExpr::new(
                left, op, right,
            ))));
        }
        Ok(Transformed::no(Expr::BinaryExpr(BinaryExpr::new(
            left, op, right,
        ))))
    }

    /// A scalar function call (`e` is one) whose PostgreSQL meaning differs from DataFusion's.
    fn function(&self, e: Expr, schema: &DFSchema) -> Result<Transformed<Expr>> {
        match e {
            Expr::ScalarFunction(f)
                if f.name() == "encode"
                    && matches!(
                        f.args.get(1),
                        Some(Expr::Literal(ScalarValue::Utf8(Some(format)), _))
                            if format.eq_ignore_ascii_case("base64")
                    ) =>
            {
                Ok(Transformed::yes(Self::call(
                    &self.base64,
                    Expr::ScalarFunction(f),
                )))
            }
            Expr::ScalarFunction(mut f)
                if matches!(f.name(), "ln" | "log" | "log10" | "log2" | "sqrt") =>
            {
                let check = if f.name() == "sqrt" {
                    &self.sqrt_domain
                } else {
                    &self.log_domain
                };
                // `log(base, x)`: the base may not be 1 either.
                let with_base = f.name() == "log" && f.args.len() == 2;
                f.args = f
                    .args
                    .into_iter()
                    .enumerate()
                    .map(|(i, a)| {
                        if with_base && i == 0 {
                            Self::call(&self.log_base_domain, a)
                        } else {
                            Self::call(check, a)
                        }
                    })
                    .collect();
                if f.name() == "log" && f.args.len() == 1 {
                    // DataFusion's one-argument log divides logarithms (log(1000) =
                    // 2.9999999999999996); PostgreSQL's is log10.
                    let arg = f.args.remove(0);
                    let arg = if is_inexact_number(&type_of(&arg, schema)?)
                        || is_integer(&type_of(&arg, schema)?)
                    {
                        Expr::Cast(Cast::new(Box::new(arg), DataType::Float64))
                    } else {
                        arg
                    };
                    return Ok(Transformed::yes(Expr::ScalarFunction(
                        ScalarFunction::new_udf(datafusion::functions::math::log10(), vec![arg]),
                    )));
                }
                Ok(Transformed::yes(Expr::ScalarFunction(f)))
            }
            Expr::ScalarFunction(mut f)
                if matches!(f.name(), "power" | "pow") && f.args.len() == 2 =>
            {
                let exp = f.args[1].clone();
                let base = f.args.remove(0);
                f.args.insert(
                    0,
                    Expr::ScalarFunction(ScalarFunction::new_udf(
                        Arc::clone(&self.power_domain),
                        vec![base, exp],
                    )),
                );
                Ok(Transformed::yes(Expr::ScalarFunction(f)))
            }
            Expr::ScalarFunction(f) if f.name() == "array_remove" => {
                // PostgreSQL removes every element equal to the value; DataFusion's
                // array_remove only the first.
                Ok(Transformed::yes(Expr::ScalarFunction(
                    ScalarFunction::new_udf(
                        datafusion::functions_nested::remove::array_remove_all_udf(),
                        f.args,
                    ),
                )))
            }
            Expr::ScalarFunction(f)
                if matches!(
                    f.name(),
                    "json_array_length" | "jsonb_array_length" | "regexp_count"
                ) =>
            {
                // Counts are int4 in PostgreSQL; DataFusion's are 64-bit (a driver decodes by
                // the described type). Not `cardinality` and `array_position`: DataFusion's
                // own plan of `<> ALL (array)` compares them with unsigned literals.
                let e = Expr::ScalarFunction(f);
                if matches!(
                    type_of(&e, schema)?,
                    DataType::Int64 | DataType::UInt64 | DataType::UInt32
                ) {
                    return Ok(Transformed::yes(Expr::Cast(Cast::new(
                        Box::new(e),
                        DataType::Int32,
                    ))));
                }
                Ok(Transformed::no(e))
            }
            Expr::ScalarFunction(f) if f.name() == "array_length" => {
                // int4, and NULL (not 0) for an empty array, as in PostgreSQL.
                let length = Expr::Cast(Cast::new(
                    Box::new(Expr::ScalarFunction(f)),
                    DataType::Int32,
                ));
                Ok(Transformed::yes(Expr::ScalarFunction(
                    ScalarFunction::new_udf(
                        datafusion::functions::core::nullif(),
                        vec![length, Expr::Literal(ScalarValue::Int32(Some(0)), None)],
                    ),
                )))
            }
            Expr::ScalarFunction(f)
                if f.name() == "round"
                    && f.args.len() == 1
                    && matches!(
                        type_of(&f.args[0], schema)?,
                        DataType::Float32 | DataType::Float64
                    ) =>
            {
                let arg = f.args.into_iter().next().expect("one argument");
                Ok(Transformed::yes(Self::call(&self.round_half, arg)))
            }
            other => Ok(Transformed::no(other)),
        }
    }

    /// An aggregate call (`e` is one): json arguments have no
    /// equality or ordering.
    fn aggregate(&self, e: Expr, schema: &DFSchema) -> Result<Transformed<Expr>> {
        match e {
            Expr::AggregateFunction(agg)
                if agg.params.distinct
                    || matches!(agg.func.name(), "min" | "max")
                    || !agg.params.order_by.is_empty() =>
            {
                for arg in &agg.params.args {
                    if let Some(ty) = json_kind(arg, schema) {
                        if agg.params.distinct && ty == "json" {
                            return Err(no_equality(ty));
                        }
                        if matches!(agg.func.name(), "min" | "max") {
                            return Err(undefined_operator(format!(
                                "function {}({ty}) does not exist",
                                agg.func.name()
                            )));
                        }
                    }
                }
                for key in &agg.params.order_by {
                    no_ordering(&key.expr, schema)?;
                }
                Ok(Transformed::no(Expr::AggregateFunction(agg)))
            }
            other => Ok(Transformed::no(other)),
        }
    }

    /// One plan node: its expressions, and its sort keys when it sorts by an interval.
    fn node(&self, node: LogicalPlan) -> Result<Transformed<LogicalPlan>> {
        let schema = if node.inputs().is_empty() {
            Arc::clone(node.schema())
        } else {
            Arc::new(merge_schema(&node.inputs()))
        };
        let node = if let LogicalPlan::Sort(mut sort) = node {
            let mut changed = false;
            let mut keys = Vec::with_capacity(sort.expr.len());
            for key in std::mem::take(&mut sort.expr) {
                let t = type_of(&key.expr, &schema)?;
                if is_interval(&t) {
                    changed = true;
                    keys.push(SortExpr::new(
                        self.span_of(key.expr),
                        key.asc,
                        key.nulls_first,
                    ));
                } else {
                    keys.push(key);
                }
            }
            sort.expr = keys;
            Transformed::new_transformed(LogicalPlan::Sort(sort), changed)
        } else {
            Transformed::no(node)
        };
        let out = node.transform_data(|node| {
            // Output names stay what they were (`min(a - b)`), as columns above refer to them.
            let names = NamePreserver::new(&node);
            node.map_expressions(|e| {
                let saved = names.save(&e);
                Ok(e.transform_up(|e| self.expr(e, &schema))?
                    .update_data(|e| saved.restore(e)))
            })
        })?;
        // Keys are checked once the node's own expressions are PostgreSQL's (`json::text` is
        // text by then, and groups).
        json_keys(&out.data, &schema)?;
        // A child's output type may have changed (a timestamp difference is an interval now),
        // so every node derives its schema again.
        out.map_data(|n| n.recompute_schema())
    }
}

/// A window function call (`e` is one): `nth_value`'s position must be positive, and json
/// has no equality or ordering to partition or sort by.
fn window(e: Expr, schema: &DFSchema) -> Result<Transformed<Expr>> {
    match e {
        Expr::WindowFunction(w)
            if w.fun.name() == "nth_value"
                && matches!(
                    w.params.args.get(1),
                    Some(Expr::Literal(n, _)) if !n.is_null()
                        && n.cast_to(&DataType::Int64)
                            .is_ok_and(|n| matches!(n, ScalarValue::Int64(Some(v)) if v <= 0))
                ) =>
        {
            Err(datafusion::error::DataFusionError::External(Box::new(
                crate::error::EngineError::InvalidWindowArgument(
                    "argument of nth_value must be greater than zero".to_owned(),
                ),
            )))
        }
        Expr::WindowFunction(w) => {
            for key in &w.params.partition_by {
                if let Some(ty) = json_kind(key, schema) {
                    return Err(no_equality(ty));
                }
            }
            for key in &w.params.order_by {
                no_ordering(&key.expr, schema)?;
            }
            Ok(Transformed::no(Expr::WindowFunction(w)))
        }
        other => Ok(Transformed::no(other)),
    }
}

impl AnalyzerRule for PgSemantics {
    fn analyze(&self, plan: LogicalPlan, config: &ConfigOptions) -> Result<LogicalPlan> {
        // A session's casts to text print intervals in its IntervalStyle.
        let session = config
            .extensions
            .get::<crate::settings::SessionSettings>()
            .map(|s| PgSemantics {
                to_text: Arc::new(ScalarUDF::from(to_text::ToText::for_session(Arc::clone(
                    &s.0,
                )))),
                ..self.clone()
            });
        let rule = session.as_ref().unwrap_or(self);
        plan.transform_up_with_subqueries(|node| rule.node(node))
            .map(|t| t.data)
    }

    fn name(&self) -> &str {
        "pg_semantics"
    }
}
