//! Parameters and output names of a planned query: the order and types of `$n`, casting bound
//! values to them, and PostgreSQL's names for the result columns.

use std::sync::Arc;

use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::common::ScalarValue;
use datafusion::logical_expr::LogicalPlan;

use crate::error::EngineError;
use crate::naming;

/// The plan's output schema with PostgreSQL's column names (see [`crate::naming`]).
pub(crate) fn pg_named_schema(
    statement: &datafusion::sql::sqlparser::ast::Statement,
    schema: &Schema,
) -> SchemaRef {
    let names = naming::output_names(statement, schema.fields().len())
        .unwrap_or_else(|| vec![None; schema.fields().len()]);
    // Where `naming` has no name, DataFusion's stands, less any internal same-name mark (a
    // wildcard over a derived table's `SELECT 1, 1`).
    let fields: Vec<Field> = schema
        .fields()
        .iter()
        .zip(names)
        .map(|(f, name)| match name {
            Some(n) => f.as_ref().clone().with_name(n),
            None => {
                let shown = naming::client_name(f.name());
                if shown.len() == f.name().len() {
                    f.as_ref().clone()
                } else {
                    f.as_ref().clone().with_name(shown)
                }
            }
        })
        .collect();
    Arc::new(Schema::new_with_metadata(fields, schema.metadata().clone()))
}

/// `plan` with each placeholder the planner typed as another string type (`Utf8View`,
/// `LargeUtf8`) typed `Utf8` and cast to that type where it stands. PostgreSQL has one text
/// type: `upper($1) || $2 … WHERE $2 = 'x'` types `$2` text in both places, where DataFusion
/// typed it `Utf8View` in one and `Utf8` in the other and the statement failed to prepare.
pub(crate) fn text_placeholders(plan: LogicalPlan) -> Result<LogicalPlan, EngineError> {
    use datafusion::common::tree_node::{Transformed, TreeNode};
    use datafusion::logical_expr::{Cast, Expr};
    let rewritten = plan.transform_up_with_subqueries(|node| {
        node.map_expressions(|e| {
            e.transform_up(|e| match &e {
                Expr::Placeholder(p)
                    if p.field.as_ref().is_some_and(|f| {
                        matches!(f.data_type(), DataType::Utf8View | DataType::LargeUtf8)
                    }) =>
                {
                    let Some(field) = p.field.clone() else {
                        return Ok(Transformed::no(e));
                    };
                    let text = Expr::Placeholder(datafusion::logical_expr::expr::Placeholder {
                        id: p.id.clone(),
                        field: Some(Arc::new(
                            field.as_ref().clone().with_data_type(DataType::Utf8),
                        )),
                    });
                    Ok(Transformed::yes(Expr::Cast(Cast::new(
                        Box::new(text),
                        field.data_type().clone(),
                    ))))
                }
                _ => Ok(Transformed::no(e)),
            })
        })
    })?;
    Ok(rewritten.data)
}

/// `$1..$n` types in order. A gap (a `$3` with no `$2`) still counts `$2`, as PostgreSQL does.
pub(crate) fn ordered_param_types(
    plan: &LogicalPlan,
) -> Result<Vec<Option<DataType>>, EngineError> {
    let types = plan.get_parameter_types()?;
    let mut max = 0usize;
    for name in types.keys() {
        let index = name
            .strip_prefix('$')
            .and_then(|n| n.parse::<usize>().ok())
            .filter(|n| *n >= 1)
            .ok_or_else(|| {
                EngineError::Unsupported(format!("parameter placeholder {name} (use $1, $2, ...)"))
            })?;
        max = max.max(index);
    }
    let limits = limit_placeholders(plan)?;
    let arrays = any_array_placeholders(plan)?;
    Ok((1..=max)
        .map(|i| {
            let id = format!("${i}");
            types
                .get(&id)
                .cloned()
                .flatten()
                // DataFusion leaves LIMIT/OFFSET placeholders untyped; PostgreSQL types them bigint.
                .or_else(|| limits.contains(&id).then_some(DataType::Int64))
                .or_else(|| arrays.get(&id).cloned())
        })
        .collect())
}

/// Untyped placeholders used as the array of `x = ANY($n)`, each with the array type
/// PostgreSQL gives it: an array of `x`'s type (psycopg 3 sends a Python list as an untyped
/// `'{r,p,f}'`, which must not be read as text).
fn any_array_placeholders(
    plan: &LogicalPlan,
) -> Result<std::collections::HashMap<String, DataType>, EngineError> {
    use datafusion::common::tree_node::{TreeNode, TreeNodeRecursion};
    use datafusion::logical_expr::{Expr, ExprSchemable};
    let mut out = std::collections::HashMap::new();
    plan.apply_with_subqueries(|node| {
        // Expressions read the node's inputs (a Projection, Filter, Join or Aggregate).
        let inputs = node.inputs();
        let mut schema = match inputs.first() {
            Some(first) => first.schema().as_ref().clone(),
            None => node.schema().as_ref().clone(),
        };
        for other in inputs.iter().skip(1) {
            schema.merge(other.schema());
        }
        node.apply_expressions(|e| {
            e.apply(|sub| {
                if let Expr::ScalarFunction(f) = sub
                    && f.name() == "array_has"
                    && let [Expr::Placeholder(p), needle] = f.args.as_slice()
                    && p.field.is_none()
                    && !matches!(needle, Expr::Placeholder(_))
                    && let Ok(element) = needle.get_type(&schema)
                {
                    out.insert(p.id.clone(), DataType::new_list(element, true));
                }
                Ok(TreeNodeRecursion::Continue)
            })
        })
    })?;
    Ok(out)
}

/// Ids of placeholders used directly as a LIMIT or OFFSET.
pub(crate) fn limit_placeholders(plan: &LogicalPlan) -> Result<Vec<String>, EngineError> {
    use datafusion::common::tree_node::TreeNodeRecursion;
    let mut ids = Vec::new();
    plan.apply_with_subqueries(|node| {
        if let LogicalPlan::Limit(limit) = node {
            for e in [&limit.skip, &limit.fetch].into_iter().flatten() {
                if let datafusion::logical_expr::Expr::Placeholder(p) = e.as_ref() {
                    ids.push(p.id.clone());
                }
            }
        }
        Ok(TreeNodeRecursion::Continue)
    })?;
    Ok(ids)
}

pub(crate) fn cast_params(
    params: Vec<ScalarValue>,
    types: &[Option<DataType>],
) -> Result<Vec<ScalarValue>, EngineError> {
    params
        .into_iter()
        .zip(types)
        .enumerate()
        .map(|(i, (value, ty))| match ty {
            Some(ty) if value.data_type() != *ty => {
                value.cast_to(ty).map_err(|e| EngineError::ParameterValue {
                    index: i + 1,
                    reason: e.to_string(),
                })
            }
            _ => Ok(value),
        })
        .collect()
}
