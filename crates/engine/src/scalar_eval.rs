//! An expression of parameters and no columns evaluated on scalar values, without the per-call
//! work DataFusion's physical expressions do for batches.
//!
//! A generic plan evaluates such an expression once per batch (see [`crate::generic`]), for
//! a prepared point lookup once per run. Through DataFusion each node of it recomputes its
//! children's fields (formatting each child's text for its name), turns scalars into one-row
//! arrays and back, and runs array kernels on them: several microseconds per run, a quarter
//! of a point lookup. A [`ScalarProgram`] is the same physical expression with what does not
//! change between runs worked out once:
//!
//! - a function call keeps its argument and return fields and invokes the function itself,
//!   as [`ScalarFunctionExpr::evaluate`] does, with the arguments' values;
//! - a cast calls [`ColumnarValue::cast_to`] with the cast's type and options, as
//!   [`CastExpr::evaluate`] does; an integer cast to text is formatted directly (arrow's
//!   cast writes the same decimal digits);
//! - `text || text` joins the two strings, or is NULL when either is (arrow's
//!   `concat_elements_utf8`);
//! - `+ - * / %` of two integers of one type, giving that type, is the checked operation
//!   (arrow's kernels: division truncates toward zero, the remainder takes the dividend's
//!   sign), NULL when either side is; a case the checked operation refuses (overflow, a
//!   zero divisor, the minimum divided by -1) is left to DataFusion, which gives its error;
//! - a literal is its value;
//! - any other node, or a case above outside those (another type, a result past what an
//!   arrow string holds), is evaluated by DataFusion as before, its subtree with it.
//!
//! So each node gives the value DataFusion gives, and an error where DataFusion fails.

use std::sync::Arc;

use datafusion::arrow::compute::CastOptions;
use datafusion::arrow::datatypes::{DataType, FieldRef, Schema};
use datafusion::arrow::record_batch::{RecordBatch, RecordBatchOptions};
use datafusion::common::config::ConfigOptions;
use datafusion::error::{DataFusionError, Result};
use datafusion::logical_expr::{ColumnarValue, Operator, ScalarFunctionArgs, ScalarUDF};
use datafusion::physical_expr::PhysicalExpr;
use datafusion::physical_expr::ScalarFunctionExpr;
use datafusion::physical_expr::expressions::{BinaryExpr, CastExpr, Literal};
use datafusion::scalar::ScalarValue;

/// A physical expression of no columns, ready to evaluate on scalars (see the module docs).
#[derive(Debug)]
pub(crate) struct ScalarProgram {
    root: Node,
}

#[derive(Debug)]
enum Node {
    Literal(ScalarValue),
    Function {
        function: ScalarUDF,
        args: Vec<Node>,
        arg_fields: Vec<FieldRef>,
        return_field: FieldRef,
        config: Arc<ConfigOptions>,
    },
    Cast {
        input: Box<Node>,
        to: DataType,
        options: CastOptions<'static>,
    },
    /// `||` of two strings of one type, giving that type.
    Concat {
        left: Box<Node>,
        right: Box<Node>,
        expr: Arc<dyn PhysicalExpr>,
    },
    /// `+ - * / %` of two integers of one type, giving that type.
    Arithmetic {
        op: Operator,
        left: Box<Node>,
        right: Box<Node>,
        expr: Arc<dyn PhysicalExpr>,
    },
    /// Evaluated by DataFusion.
    Other(Arc<dyn PhysicalExpr>),
}

impl ScalarProgram {
    /// `expr` (which reads no column) made ready to evaluate on scalars.
    pub(crate) fn compile(expr: &Arc<dyn PhysicalExpr>) -> ScalarProgram {
        ScalarProgram {
            root: compile(expr, &Schema::empty()),
        }
    }

    /// The expression's value, as evaluating it on a batch of one row gives it.
    pub(crate) fn evaluate(&self) -> Result<ScalarValue> {
        self.root.evaluate()
    }
}

/// `expr` as a node; one whose fields cannot be worked out is left to DataFusion (which then
/// gives the error evaluating it gives).
fn compile(expr: &Arc<dyn PhysicalExpr>, schema: &Schema) -> Node {
    try_compile(expr, schema).unwrap_or_else(|_| Node::Other(Arc::clone(expr)))
}

fn try_compile(expr: &Arc<dyn PhysicalExpr>, schema: &Schema) -> Result<Node> {
    if let Some(literal) = expr.downcast_ref::<Literal>() {
        return Ok(Node::Literal(literal.value().clone()));
    }
    if let Some(call) = expr.downcast_ref::<ScalarFunctionExpr>() {
        return Ok(Node::Function {
            function: call.fun().clone(),
            args: call.args().iter().map(|a| compile(a, schema)).collect(),
            arg_fields: call
                .args()
                .iter()
                .map(|a| a.return_field(schema))
                .collect::<Result<_>>()?,
            return_field: expr.return_field(schema)?,
            config: Arc::new(call.config_options().clone()),
        });
    }
    if let Some(cast) = expr.downcast_ref::<CastExpr>() {
        return Ok(Node::Cast {
            input: Box::new(compile(cast.expr(), schema)),
            to: cast.cast_type().clone(),
            options: cast.cast_options().clone(),
        });
    }
    if let Some(binary) = expr.downcast_ref::<BinaryExpr>()
        && *binary.op() == Operator::StringConcat
    {
        let left = binary.left().data_type(schema)?;
        let right = binary.right().data_type(schema)?;
        let result = expr.data_type(schema)?;
        if left == right && left == result && matches!(left, DataType::Utf8 | DataType::LargeUtf8) {
            return Ok(Node::Concat {
                left: Box::new(compile(binary.left(), schema)),
                right: Box::new(compile(binary.right(), schema)),
                expr: Arc::clone(expr),
            });
        }
    }
    if let Some(binary) = expr.downcast_ref::<BinaryExpr>()
        && matches!(
            binary.op(),
            Operator::Plus
                | Operator::Minus
                | Operator::Multiply
                | Operator::Divide
                | Operator::Modulo
        )
    {
        let left = binary.left().data_type(schema)?;
        let right = binary.right().data_type(schema)?;
        let result = expr.data_type(schema)?;
        if left == right
            && left == result
            && matches!(left, DataType::Int16 | DataType::Int32 | DataType::Int64)
        {
            return Ok(Node::Arithmetic {
                op: *binary.op(),
                left: Box::new(compile(binary.left(), schema)),
                right: Box::new(compile(binary.right(), schema)),
                expr: Arc::clone(expr),
            });
        }
    }
    Ok(Node::Other(Arc::clone(expr)))
}

/// `l op r` checked, for the operators [`Node::Arithmetic`] takes; `None` where the checked
/// operation refuses.
macro_rules! checked {
    ($op:expr, $l:expr, $r:expr) => {
        match $op {
            Operator::Plus => $l.checked_add($r),
            Operator::Minus => $l.checked_sub($r),
            Operator::Multiply => $l.checked_mul($r),
            Operator::Divide => $l.checked_div($r),
            Operator::Modulo => $l.checked_rem($r),
            _ => None,
        }
    };
}

/// What DataFusion gives evaluating `expr` on a batch of one row, as a scalar.
fn evaluate_by_datafusion(expr: &Arc<dyn PhysicalExpr>) -> Result<ScalarValue> {
    let one_row = RecordBatch::try_new_with_options(
        Arc::new(Schema::empty()),
        Vec::new(),
        &RecordBatchOptions::new().with_row_count(Some(1)),
    )?;
    one_value(expr.evaluate(&one_row)?)
}

/// The value of a result for one row.
fn one_value(value: ColumnarValue) -> Result<ScalarValue> {
    match value {
        ColumnarValue::Scalar(s) => Ok(s),
        ColumnarValue::Array(a) if a.len() == 1 => ScalarValue::try_from_array(&a, 0),
        ColumnarValue::Array(a) => Err(DataFusionError::Internal(format!(
            "an expression of parameters gave {} rows for one",
            a.len()
        ))),
    }
}

impl Node {
    fn evaluate(&self) -> Result<ScalarValue> {
        match self {
            Node::Literal(v) => Ok(v.clone()),
            Node::Function {
                function,
                args,
                arg_fields,
                return_field,
                config,
            } => {
                let args = args
                    .iter()
                    .map(|a| a.evaluate().map(ColumnarValue::Scalar))
                    .collect::<Result<Vec<_>>>()?;
                one_value(function.invoke_with_args(ScalarFunctionArgs {
                    args,
                    arg_fields: arg_fields.clone(),
                    number_rows: 1,
                    return_field: Arc::clone(return_field),
                    config_options: Arc::clone(config),
                })?)
            }
            Node::Cast { input, to, options } => {
                let value = input.evaluate()?;
                if let Some(text) = integer_text(&value, to) {
                    return Ok(text);
                }
                one_value(ColumnarValue::Scalar(value).cast_to(to, Some(options))?)
            }
            Node::Concat { left, right, expr } => {
                let (l, r) = (left.evaluate()?, right.evaluate()?);
                match (l, r) {
                    (ScalarValue::Utf8(l), ScalarValue::Utf8(r)) => match (l, r) {
                        (Some(l), Some(r)) if l.len() + r.len() <= i32::MAX as usize => {
                            Ok(ScalarValue::Utf8(Some(l + &r)))
                        }
                        (Some(_), Some(_)) => evaluate_by_datafusion(expr),
                        _ => Ok(ScalarValue::Utf8(None)),
                    },
                    (ScalarValue::LargeUtf8(l), ScalarValue::LargeUtf8(r)) => {
                        Ok(ScalarValue::LargeUtf8(l.zip(r).map(|(l, r)| l + &r)))
                    }
                    _ => evaluate_by_datafusion(expr),
                }
            }
            Node::Arithmetic {
                op,
                left,
                right,
                expr,
            } => {
                let value = match (left.evaluate()?, right.evaluate()?) {
                    (ScalarValue::Int16(Some(l)), ScalarValue::Int16(Some(r))) => {
                        checked!(*op, l, r).map(|v| ScalarValue::Int16(Some(v)))
                    }
                    (ScalarValue::Int32(Some(l)), ScalarValue::Int32(Some(r))) => {
                        checked!(*op, l, r).map(|v| ScalarValue::Int32(Some(v)))
                    }
                    (ScalarValue::Int64(Some(l)), ScalarValue::Int64(Some(r))) => {
                        checked!(*op, l, r).map(|v| ScalarValue::Int64(Some(v)))
                    }
                    (l, r) if l.data_type() == r.data_type() && (l.is_null() || r.is_null()) => {
                        ScalarValue::try_from(l.data_type()).ok()
                    }
                    _ => None,
                };
                match value {
                    Some(v) => Ok(v),
                    None => evaluate_by_datafusion(expr),
                }
            }
            Node::Other(expr) => evaluate_by_datafusion(expr),
        }
    }
}

/// An integer cast to a text type: its decimal digits, NULL for NULL; `None` for anything
/// else.
fn integer_text(value: &ScalarValue, to: &DataType) -> Option<ScalarValue> {
    let digits = match value {
        ScalarValue::Int8(v) => v.map(|i| i.to_string()),
        ScalarValue::Int16(v) => v.map(|i| i.to_string()),
        ScalarValue::Int32(v) => v.map(|i| i.to_string()),
        ScalarValue::Int64(v) => v.map(|i| i.to_string()),
        _ => return None,
    };
    match to {
        DataType::Utf8 => Some(ScalarValue::Utf8(digits)),
        DataType::LargeUtf8 => Some(ScalarValue::LargeUtf8(digits)),
        DataType::Utf8View => Some(ScalarValue::Utf8View(digits)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use datafusion::arrow::datatypes::Field;
    use datafusion::logical_expr::Operator;
    use datafusion::physical_expr::expressions::{
        BinaryExpr, CaseExpr, CastExpr, Literal, NegativeExpr,
    };

    use super::*;

    fn lit(v: ScalarValue) -> Arc<dyn PhysicalExpr> {
        Arc::new(Literal::new(v))
    }

    fn text(s: Option<&str>) -> Arc<dyn PhysicalExpr> {
        lit(ScalarValue::Utf8(s.map(str::to_owned)))
    }

    fn cast(e: Arc<dyn PhysicalExpr>, to: DataType) -> Arc<dyn PhysicalExpr> {
        Arc::new(CastExpr::new(e, to, None))
    }

    fn concat(l: Arc<dyn PhysicalExpr>, r: Arc<dyn PhysicalExpr>) -> Arc<dyn PhysicalExpr> {
        Arc::new(BinaryExpr::new(l, Operator::StringConcat, r))
    }

    fn call(udf: Arc<ScalarUDF>, args: Vec<Arc<dyn PhysicalExpr>>) -> Arc<dyn PhysicalExpr> {
        let fields: Vec<FieldRef> = args
            .iter()
            .map(|a| a.return_field(&Schema::empty()).expect("field"))
            .collect();
        let types: Vec<DataType> = fields.iter().map(|f| f.data_type().clone()).collect();
        let returns = udf.return_type(&types).expect("return type");
        let name = udf.name().to_owned();
        Arc::new(ScalarFunctionExpr::new(
            &name,
            udf,
            args,
            Arc::new(Field::new("f", returns, true)),
            Arc::new(ConfigOptions::default()),
        ))
    }

    /// Each expression gives on scalars what DataFusion gives evaluating it on one row: the
    /// same value of the same type, or an error where DataFusion fails.
    #[test]
    fn a_program_gives_what_datafusion_gives() {
        let upper = datafusion::functions::string::upper();
        let to_i32 = |s: Option<&str>| cast(text(s), DataType::Int32);
        let arith = |l: ScalarValue, op: Operator, r: ScalarValue| -> Arc<dyn PhysicalExpr> {
            Arc::new(BinaryExpr::new(lit(l), op, lit(r)))
        };
        let mut cases: Vec<Arc<dyn PhysicalExpr>> = Vec::new();
        // Integer arithmetic: every operator, both signs, the edges where the checked
        // operation refuses (left to DataFusion, which fails), and NULLs.
        for op in [
            Operator::Plus,
            Operator::Minus,
            Operator::Multiply,
            Operator::Divide,
            Operator::Modulo,
        ] {
            for (l, r) in [
                (7, 3),
                (-7, 3),
                (7, -3),
                (-7, -3),
                (0, 5),
                (5, 0),
                (i32::MIN, -1),
            ] {
                cases.push(arith(
                    ScalarValue::Int32(Some(l)),
                    op,
                    ScalarValue::Int32(Some(r)),
                ));
                cases.push(arith(
                    ScalarValue::Int64(Some(l.into())),
                    op,
                    ScalarValue::Int64(Some(r.into())),
                ));
            }
            cases.push(arith(
                ScalarValue::Int32(Some(i32::MAX)),
                op,
                ScalarValue::Int32(Some(2)),
            ));
            cases.push(arith(
                ScalarValue::Int64(Some(i64::MIN)),
                op,
                ScalarValue::Int64(Some(-1)),
            ));
            cases.push(arith(
                ScalarValue::Int16(Some(i16::MAX)),
                op,
                ScalarValue::Int16(Some(-300)),
            ));
            cases.push(arith(
                ScalarValue::Int32(None),
                op,
                ScalarValue::Int32(Some(1)),
            ));
            cases.push(arith(
                ScalarValue::Int64(Some(1)),
                op,
                ScalarValue::Int64(None),
            ));
            cases.push(arith(
                ScalarValue::Int32(None),
                op,
                ScalarValue::Int32(None),
            ));
        }
        cases.extend::<Vec<Arc<dyn PhysicalExpr>>>(vec![
            text(Some("a")),
            concat(
                text(Some("arn:")),
                cast(lit(ScalarValue::Int32(Some(-7))), DataType::Utf8),
            ),
            concat(text(Some("a")), text(None)),
            concat(text(None), text(Some("b"))),
            concat(
                concat(
                    text(Some("x")),
                    cast(lit(ScalarValue::Int64(Some(i64::MIN))), DataType::Utf8),
                ),
                cast(lit(ScalarValue::Int16(Some(i16::MAX))), DataType::Utf8),
            ),
            cast(lit(ScalarValue::Int8(Some(-128))), DataType::Utf8View),
            cast(lit(ScalarValue::Int32(None)), DataType::LargeUtf8),
            cast(lit(ScalarValue::Int64(Some(42))), DataType::Float64),
            to_i32(Some("12")),
            // DataFusion's cast fails on text that is no integer; so must the program.
            to_i32(Some("twelve")),
            to_i32(Some("99999999999")),
            concat(
                lit(ScalarValue::LargeUtf8(Some("l".into()))),
                lit(ScalarValue::LargeUtf8(Some("r".into()))),
            ),
            concat(
                lit(ScalarValue::Utf8View(Some("v".into()))),
                lit(ScalarValue::Utf8View(Some("w".into()))),
            ),
            call(
                Arc::clone(&upper),
                vec![concat(text(Some("ab")), text(Some("c")))],
            ),
            call(Arc::clone(&upper), vec![text(None)]),
            Arc::new(NegativeExpr::new(to_i32(Some("5")))),
            Arc::new(
                CaseExpr::try_new(
                    None,
                    vec![(lit(ScalarValue::Boolean(Some(false))), text(Some("no")))],
                    Some(concat(
                        text(Some("else-")),
                        cast(to_i32(Some("3")), DataType::Utf8),
                    )),
                )
                .expect("case"),
            ),
        ]);
        for expr in cases {
            let program = ScalarProgram::compile(&expr).evaluate();
            let datafusion = evaluate_by_datafusion(&expr);
            match (&program, &datafusion) {
                (Ok(p), Ok(d)) => {
                    assert_eq!(p, d, "{expr}");
                    assert_eq!(p.data_type(), d.data_type(), "{expr}");
                }
                (Err(_), Err(_)) => {}
                _ => panic!("{expr}: program {program:?}, DataFusion {datafusion:?}"),
            }
        }
    }

    /// The nodes the program works out itself are not left to DataFusion.
    #[test]
    fn integer_arithmetic_is_evaluated_on_scalars() {
        // `10000000 + $1 / 3`, `$1 % 3` with `$1` a text cast to integer: a prepared lookup's
        // key.
        let int = |s: &str| cast(text(Some(s)), DataType::Int32);
        let expr: Arc<dyn PhysicalExpr> = Arc::new(BinaryExpr::new(
            lit(ScalarValue::Int32(Some(10_000_000))),
            Operator::Plus,
            Arc::new(BinaryExpr::new(
                int("1234"),
                Operator::Divide,
                lit(ScalarValue::Int32(Some(3))),
            )),
        ));
        let program = ScalarProgram::compile(&expr);
        let shown = format!("{program:?}");
        assert!(!shown.contains("Other"), "{shown}");
        assert_eq!(
            program.evaluate().expect("value"),
            ScalarValue::Int32(Some(10_000_411))
        );
        // Mixed types are DataFusion's.
        let mixed: Arc<dyn PhysicalExpr> = Arc::new(BinaryExpr::new(
            lit(ScalarValue::Int64(Some(1))),
            Operator::Plus,
            lit(ScalarValue::Int32(Some(1))),
        ));
        assert!(format!("{:?}", ScalarProgram::compile(&mixed)).contains("Other"));
    }

    /// The nodes the program works out itself are not left to DataFusion.
    #[test]
    fn casts_concatenations_and_calls_are_evaluated_on_scalars() {
        let upper = datafusion::functions::string::upper();
        let expr = call(
            upper,
            vec![concat(
                text(Some("a")),
                cast(lit(ScalarValue::Int32(Some(1))), DataType::Utf8),
            )],
        );
        let program = ScalarProgram::compile(&expr);
        let shown = format!("{program:?}");
        assert!(!shown.contains("Other"), "{shown}");
        assert_eq!(
            program.evaluate().expect("value"),
            ScalarValue::Utf8(Some("A1".into()))
        );
    }
}
