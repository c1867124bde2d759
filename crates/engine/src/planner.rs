//! SQL planning hooks: PostgreSQL's hstore/json operators and the json/jsonb/hstore type names.
//!
//! DataFusion parses `->`, `->>`, `#>`, `#>>`, `?`, `?|`, `?&`, `@>` and `<@` but gives them no
//! meaning for strings. [`PgOperatorPlanner`] rewrites them into our functions by the *type of
//! the left operand*: hstore columns (tagged in field metadata) get the hstore functions, and
//! everything else gets the json ones, so `tags -> 'env'` and `access_log_settings -> 'format'`
//! both do what PostgreSQL does.

use std::sync::Arc;

use datafusion::arrow::datatypes::{DataType, Field, FieldRef};
use datafusion::common::{DFSchema, ScalarValue};
use datafusion::error::{DataFusionError, Result};
use datafusion::logical_expr::expr::ScalarFunction;
use datafusion::logical_expr::planner::{ExprPlanner, PlannerResult, RawBinaryExpr, TypePlanner};
use datafusion::logical_expr::{Expr, ExprSchemable, ScalarUDF, lit};
use datafusion::sql::sqlparser::ast::{self, BinaryOperator};

use crate::functions::json::parse_path_literal;
use crate::functions::operators;
use crate::schema::{PG_HSTORE, PG_JSON, PG_JSONB, is_hstore, tagged};

/// Plans the hstore and json operators.
#[derive(Debug)]
pub struct PgOperatorPlanner {
    udfs: Vec<Arc<ScalarUDF>>,
}

impl PgOperatorPlanner {
    /// A planner using the functions from [`operators::all`].
    pub fn new() -> PgOperatorPlanner {
        PgOperatorPlanner {
            udfs: operators::all()
                .into_iter()
                .chain(crate::functions::datetime::all())
                .chain(crate::semantics::json::operator_udfs())
                .chain(
                    crate::functions::builtins::all()
                        .into_iter()
                        .filter(|f| f.name().starts_with("__pg_array_")),
                )
                .map(Arc::new)
                .collect(),
        }
    }

    /// A call of one of DataFusion's own functions.
    fn call_builtin(&self, name: &str, args: Vec<Expr>) -> Result<Expr> {
        let udf = match name {
            "starts_with" => datafusion::functions::string::starts_with(),
            other => {
                return Err(DataFusionError::Internal(format!(
                    "built-in function {other} missing"
                )));
            }
        };
        Ok(Expr::ScalarFunction(ScalarFunction::new_udf(udf, args)))
    }

    fn call(&self, name: &str, args: Vec<Expr>) -> Result<Expr> {
        let udf = self.udfs.iter().find(|u| u.name() == name).ok_or_else(|| {
            DataFusionError::Internal(format!("operator function {name} missing"))
        })?;
        Ok(Expr::ScalarFunction(ScalarFunction::new_udf(
            Arc::clone(udf),
            args,
        )))
    }
}

impl Default for PgOperatorPlanner {
    fn default() -> Self {
        Self::new()
    }
}

fn is_hstore_expr(e: &Expr, schema: &DFSchema) -> bool {
    e.to_field(schema).is_ok_and(|(_, f)| is_hstore(&f))
}

/// The text elements of a path literal such as `'{a,b}'`, for `#>` and `#>>`.
fn path_args(right: &Expr) -> Result<Vec<Expr>> {
    let text = match right {
        Expr::Literal(ScalarValue::Utf8(Some(s)) | ScalarValue::Utf8View(Some(s)), _) => s.clone(),
        Expr::Cast(c) => return path_args(&c.expr),
        _ => {
            return Err(DataFusionError::NotImplemented(
                "#> and #>> need a constant path such as '{a,b}'".to_owned(),
            ));
        }
    };
    let items = parse_path_literal(&text)
        .ok_or_else(|| DataFusionError::Plan(format!("malformed array literal: {text:?}")))?;
    Ok(items.into_iter().map(lit).collect())
}

/// If `literal` is a text literal compared with an array or a boolean, the literal read as
/// that type, as PostgreSQL reads an untyped literal (`polroles = '{0}'`, `indisprimary = 't'`).
fn array_literal_for(literal: &Expr, other: &Expr, schema: &DFSchema) -> Result<Option<Expr>> {
    let Expr::Literal(ScalarValue::Utf8(Some(text)) | ScalarValue::Utf8View(Some(text)), _) =
        literal
    else {
        return Ok(None);
    };
    let Ok((_, field)) = other.to_field(schema) else {
        return Ok(None);
    };
    if field.data_type() == &DataType::Boolean {
        let value = match text.trim().to_ascii_lowercase().as_str() {
            "t" | "true" | "y" | "yes" | "on" | "1" => true,
            "f" | "false" | "n" | "no" | "off" | "0" => false,
            _ => {
                return Err(DataFusionError::Plan(format!(
                    "invalid input syntax for type boolean: \"{text}\""
                )));
            }
        };
        return Ok(Some(lit(value)));
    }
    let DataType::List(element) = field.data_type() else {
        return Ok(None);
    };
    let items = crate::pg_catalog::parse_array(text)?;
    let values: Vec<ScalarValue> = items.into_iter().map(ScalarValue::Utf8).collect();
    let list = ScalarValue::List(ScalarValue::new_list_nullable(&values, &DataType::Utf8));
    Ok(Some(lit(
        list.cast_to(&DataType::List(Arc::clone(element)))?
    )))
}

/// `left op right` with a string literal on one side read as an array literal of the other
/// side's type, for the comparison and containment operators.
fn with_array_literals(
    op: &BinaryOperator,
    mut left: Expr,
    mut right: Expr,
    schema: &DFSchema,
) -> Result<(Expr, Expr)> {
    if matches!(
        op,
        BinaryOperator::Eq
            | BinaryOperator::NotEq
            | BinaryOperator::Lt
            | BinaryOperator::LtEq
            | BinaryOperator::Gt
            | BinaryOperator::GtEq
            | BinaryOperator::AtArrow
            | BinaryOperator::ArrowAt
    ) {
        if let Some(l) = array_literal_for(&right, &left, schema)? {
            right = l;
        } else if let Some(l) = array_literal_for(&left, &right, schema)? {
            left = l;
        }
    }
    Ok((left, right))
}

/// Refuses jsonb's containment and existence operators on json, which has none (42883, as
/// PostgreSQL).
fn no_json_operator(
    op: &BinaryOperator,
    left_tag: Option<&str>,
    right_tag: Option<&str>,
) -> Result<()> {
    if matches!(
        op,
        BinaryOperator::AtArrow
            | BinaryOperator::ArrowAt
            | BinaryOperator::Question
            | BinaryOperator::QuestionPipe
            | BinaryOperator::QuestionAnd
    ) && (left_tag == Some(PG_JSON)
        || (matches!(op, BinaryOperator::AtArrow | BinaryOperator::ArrowAt)
            && right_tag == Some(PG_JSON)))
    {
        return Err(DataFusionError::External(Box::new(
            crate::error::EngineError::UndefinedOperator(format!(
                "operator does not exist: json {op} {}",
                right_tag.unwrap_or("unknown")
            )),
        )));
    }
    Ok(())
}

impl ExprPlanner for PgOperatorPlanner {
    fn plan_binary_op(
        &self,
        expr: RawBinaryExpr,
        schema: &DFSchema,
    ) -> Result<PlannerResult<RawBinaryExpr>> {
        let RawBinaryExpr { op, left, right } = expr;
        // `polroles = '{0}'`: an array literal written as a string takes the array's type.
        let (left, right) = with_array_literals(&op, left, right, schema)?;
        let hstore_left = || is_hstore_expr(&left, schema);
        // `interval * n`, `n * interval`, `interval / n`: PostgreSQL's interval arithmetic
        // (fractions spill down), which DataFusion has no operator for.
        let interval = |e: &Expr| matches!(e.get_type(schema), Ok(DataType::Interval(_)));
        let number = |e: &Expr| e.get_type(schema).is_ok_and(|t| t.is_numeric());
        let tag = |e: &Expr| {
            e.to_field(schema)
                .ok()
                .and_then(|(_, f)| crate::schema::pg_type_tag(&f).map(str::to_owned))
        };
        let (left_tag, right_tag) = (tag(&left), tag(&right));
        let jsonb_left = left_tag.as_deref() == Some(PG_JSONB);
        // jsonb's containment and existence operators; json has none (42883, as PostgreSQL).
        no_json_operator(&op, left_tag.as_deref(), right_tag.as_deref())?;
        let jsonb_any = jsonb_left || right_tag.as_deref() == Some(PG_JSONB);
        let list = |e: &Expr| matches!(e.get_type(schema), Ok(DataType::List(_)));
        let planned = match op {
            // `s ^@ prefix` is `starts_with(s, prefix)`.
            BinaryOperator::PGStartsWith => self.call_builtin("starts_with", vec![left, right])?,
            // Arrays: `a @> b`, `a <@ b` and `a && b` with PostgreSQL's NULL elements.
            BinaryOperator::PGOverlap if list(&left) || list(&right) => {
                self.call("__pg_array_overlap", vec![left, right])?
            }
            BinaryOperator::AtArrow if list(&left) => {
                self.call("__pg_array_contains", vec![left, right])?
            }
            BinaryOperator::ArrowAt if list(&right) => {
                self.call("__pg_array_contains", vec![right, left])?
            }
            BinaryOperator::AtArrow if jsonb_any && !hstore_left() => {
                self.call("jsonb_contains", vec![left, right])?
            }
            BinaryOperator::ArrowAt if jsonb_any && !hstore_left() => {
                self.call("jsonb_contained", vec![left, right])?
            }
            BinaryOperator::Question if jsonb_left => {
                self.call("jsonb_exists", vec![left, right])?
            }
            BinaryOperator::QuestionPipe if jsonb_left => {
                self.call("jsonb_exists_any", vec![left, right])?
            }
            BinaryOperator::QuestionAnd if jsonb_left => {
                self.call("jsonb_exists_all", vec![left, right])?
            }
            BinaryOperator::Multiply if interval(&left) && number(&right) => {
                self.call("__pg_interval_mul", vec![left, right])?
            }
            BinaryOperator::Multiply if number(&left) && interval(&right) => {
                self.call("__pg_interval_mul", vec![right, left])?
            }
            BinaryOperator::Divide if interval(&left) && number(&right) => {
                self.call("__pg_interval_div", vec![left, right])?
            }
            BinaryOperator::Arrow if hstore_left() => {
                self.call("hstore_fetchval", vec![left, right])?
            }
            BinaryOperator::Arrow => self.call("json_get", vec![left, right])?,
            BinaryOperator::LongArrow => self.call("json_get_text", vec![left, right])?,
            BinaryOperator::HashArrow | BinaryOperator::HashLongArrow => {
                let name = if op == BinaryOperator::HashArrow {
                    "json_extract_path"
                } else {
                    "json_extract_path_text"
                };
                let mut args = vec![left];
                args.extend(path_args(&right)?);
                self.call(name, args)?
            }
            BinaryOperator::StringConcat if hstore_left() && is_hstore_expr(&right, schema) => {
                self.call("hs_concat", vec![left, right])?
            }
            BinaryOperator::Minus if hstore_left() => self.call("delete", vec![left, right])?,
            BinaryOperator::Question if hstore_left() => self.call("exist", vec![left, right])?,
            BinaryOperator::QuestionPipe if hstore_left() => {
                self.call("exists_any", vec![left, right])?
            }
            BinaryOperator::QuestionAnd if hstore_left() => {
                self.call("exists_all", vec![left, right])?
            }
            BinaryOperator::AtArrow if hstore_left() => {
                self.call("hs_contains", vec![left, right])?
            }
            BinaryOperator::ArrowAt if hstore_left() || is_hstore_expr(&right, schema) => {
                self.call("hs_contained", vec![left, right])?
            }
            op => return Ok(PlannerResult::Original(RawBinaryExpr { op, left, right })),
        };
        Ok(PlannerResult::Planned(planned))
    }
}

/// Maps PostgreSQL type names DataFusion lacks: `json`, `jsonb` and `hstore` are text tagged with
/// their PostgreSQL type, so `x::json` is described as json on the wire.
#[derive(Debug, Default)]
pub struct PgTypePlanner;

impl TypePlanner for PgTypePlanner {
    fn plan_type_field(&self, sql_type: &ast::DataType) -> Result<Option<FieldRef>> {
        if let ast::DataType::Custom(name, _) = sql_type {
            let n = name.to_string().to_ascii_lowercase();
            let n = n.strip_prefix("pg_catalog.").unwrap_or(&n);
            match n {
                "oid" | "xid" | "cid" => {
                    return Ok(Some(Arc::new(Field::new("", DataType::UInt32, true))));
                }
                "name" | "bpchar" | "\"char\"" | "pg_node_tree" | "aclitem" => {
                    return Ok(Some(Arc::new(Field::new("", DataType::Utf8, true))));
                }
                "int2vector" => {
                    return Ok(Some(Arc::new(Field::new(
                        "",
                        DataType::List(Arc::new(Field::new("item", DataType::Int16, true))),
                        true,
                    ))));
                }
                "oidvector" => {
                    return Ok(Some(Arc::new(Field::new(
                        "",
                        DataType::List(Arc::new(Field::new("item", DataType::UInt32, true))),
                        true,
                    ))));
                }
                _ => {}
            }
        }
        let tag = match sql_type {
            ast::DataType::JSON => PG_JSON,
            ast::DataType::JSONB => PG_JSONB,
            ast::DataType::Custom(name, _)
                if name.to_string().eq_ignore_ascii_case("hstore")
                    || name.to_string().eq_ignore_ascii_case("public.hstore") =>
            {
                PG_HSTORE
            }
            _ => return Ok(None),
        };
        Ok(Some(Arc::new(tagged(
            Field::new("", DataType::Utf8, true),
            tag,
        ))))
    }
}
