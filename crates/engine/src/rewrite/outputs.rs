//! Output-column rewrites on the outermost selects: reg* names, int4 literals, unique names.

#[allow(unused_imports)]
use super::*;

/// Output-column fixes on the outermost selects: a bare `x::regclass` output shows the name,
/// integer literals are `integer`, and names that would collide get internal aliases
/// (DataFusion requires unique names; `SELECT c.oid, c.* …` from pgAdmin, `SELECT 1, 1`); the
/// client still sees PostgreSQL's names (see `naming`).
pub(super) fn outputs(statement: &mut Statement, _: &Context) {
    let Statement::Query(query) = statement else {
        return;
    };
    fn walk(body: &mut SetExpr) {
        match body {
            SetExpr::Select(select) => {
                for item in &mut select.projection {
                    // A bare `x::regclass` output shows the name, as PostgreSQL prints it.
                    if let SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. } =
                        item
                        && let Expr::Function(f) = e
                        && let Some(kind) = super::reg::reg_in_function(f)
                        && let Some(arg) = single_arg(f)
                    {
                        *e = call(kind.function_names().1, arg);
                    }
                }
                for item in &mut select.projection {
                    if let SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. } =
                        item
                    {
                        int4_literals(e);
                    }
                }
                unique_names(&mut select.projection);
            }
            SetExpr::SetOperation { left, right, .. } => {
                walk(left);
                walk(right);
            }
            SetExpr::Query(q) => walk(&mut q.body),
            _ => {}
        }
    }
    walk(&mut query.body);
}

/// PostgreSQL types an integer literal that fits in 32 bits as `integer`; DataFusion makes
/// every one a bigint. In an output column (`SELECT 1`, `SELECT $1::int + 1`) the type shows:
/// drivers decode int8 differently (node-postgres returns it as a string), so literals there,
/// and in arithmetic there, are cast to integer. Literals elsewhere (LIMIT, function
/// arguments, comparisons) keep DataFusion's type, which compares and computes the same.
pub(super) fn int4_literals(e: &mut Expr) {
    match e {
        Expr::Value(ValueWithSpan {
            value: Value::Number(n, false),
            ..
        }) if n.parse::<i32>().is_ok() => {
            let lit = std::mem::replace(e, Expr::value(Value::Null));
            *e = Expr::Cast {
                kind: datafusion::sql::sqlparser::ast::CastKind::Cast,
                expr: Box::new(lit),
                data_type: DataType::Integer(None),
                array: false,
                format: None,
            };
        }
        Expr::Nested(inner) => int4_literals(inner),
        Expr::Case {
            conditions,
            else_result,
            ..
        } => {
            for when in conditions {
                int4_literals(&mut when.result);
            }
            if let Some(e) = else_result {
                int4_literals(e);
            }
        }
        Expr::UnaryOp { expr: inner, .. } => int4_literals(inner),
        Expr::BinaryOp {
            left,
            op:
                BinaryOperator::Plus
                | BinaryOperator::Minus
                | BinaryOperator::Multiply
                | BinaryOperator::Divide
                | BinaryOperator::Modulo,
            right,
        } => {
            int4_literals(left);
            int4_literals(right);
        }
        _ => {}
    }
}

pub(super) fn unique_names(items: &mut [SelectItem]) {
    let has_wildcard = items.iter().any(|i| {
        matches!(
            i,
            SelectItem::Wildcard(_) | SelectItem::QualifiedWildcard(..)
        )
    });
    let name_of = |i: &SelectItem| match i {
        SelectItem::UnnamedExpr(e) => Some(expr_name(e).to_ascii_lowercase()),
        SelectItem::ExprWithAlias { alias, .. } => Some(alias.value.to_ascii_lowercase()),
        _ => None,
    };
    let mut counts = std::collections::HashMap::new();
    for name in items.iter().filter_map(name_of) {
        *counts.entry(name).or_insert(0usize) += 1;
    }
    let mut seen = HashSet::new();
    for (i, item) in items.iter_mut().enumerate() {
        let Some(name) = name_of(item) else {
            continue;
        };
        let duplicated = counts.get(&name).copied().unwrap_or(0) > 1;
        let first = seen.insert(name.clone());
        let taken = std::mem::replace(item, SelectItem::Wildcard(Default::default()));
        *item = match taken {
            // An unaliased expression may collide with a wildcard's columns or another
            // unaliased expression; DataFusion's name for it is not PostgreSQL's anyway.
            SelectItem::UnnamedExpr(expr) if has_wildcard || duplicated => {
                SelectItem::ExprWithAlias {
                    expr,
                    alias: Ident::new(format!("__stagesql_column_{i}")),
                }
            }
            // The first of several equal aliases keeps its name, so ORDER BY can use it.
            SelectItem::ExprWithAlias { expr, alias } if duplicated && !first => {
                SelectItem::ExprWithAlias {
                    expr,
                    alias: Ident::new(format!("__stagesql_column_{i}_{}", alias.value)),
                }
            }
            other => other,
        };
    }
}
