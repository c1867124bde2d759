//! Rules for the catalog queries clients send (psql's `\d`, pgjdbc's metadata, DBeaver's
//! navigator). Each would change the meaning of some user query, so they run only on
//! statements that read nothing but catalog relations (`Scope::Catalog`).

#[allow(unused_imports)]
use super::*;
use crate::functions::aggregates::SCALAR_SUBQUERY;

/// Columns PostgreSQL stores as `int2vector`/`oidvector`, whose subscripts start at 0.
const VECTOR_COLUMNS: &[&str] = &[
    "indkey",
    "indclass",
    "indcollation",
    "indoption",
    "proargtypes",
    "tgattr",
    "stxkeys",
    "partattrs",
    "partclass",
    "partcollation",
];

fn is_vector_column(e: &Expr) -> bool {
    column_name(e).is_some_and(|c| VECTOR_COLUMNS.contains(&c.as_str()))
}

/// Subscripts of the zero-based vector columns (`indkey[0]`, `proargtypes[0:1]`) shift to
/// DataFusion's one-based arrays; `array_lower`/`array_upper` of one count from 0, and so do
/// its `generate_subscripts` (psql's `\d` index footers, pgjdbc's `getIndexInfo`). A user
/// column could carry one of these names, hence the catalog scope.
pub(super) fn vector_subscripts(statement: &mut Statement, _: &Context) {
    each_expr(statement, |expr| match expr {
        Expr::CompoundFieldAccess { root, access_chain } => {
            let mut column = column_name(root);
            for access in access_chain.iter_mut() {
                match access {
                    AccessExpr::Dot(Expr::Identifier(id)) => {
                        column = Some(id.value.to_ascii_lowercase());
                    }
                    AccessExpr::Dot(_) => column = None,
                    AccessExpr::Subscript(sub) => {
                        if column
                            .as_deref()
                            .is_some_and(|c| VECTOR_COLUMNS.contains(&c))
                        {
                            shift_subscript(sub);
                        }
                        break;
                    }
                }
            }
        }
        Expr::Function(f)
            if ["array_lower", "array_upper"]
                .iter()
                .any(|n| f.name.to_string().eq_ignore_ascii_case(n)) =>
        {
            if first_arg(f).is_some_and(|a| is_vector_column(&a))
                && let FunctionArguments::List(list) = &f.args
                && list.args.len() == 2
            {
                push_arg(expr, Expr::value(Value::Number("0".into(), false)));
            }
        }
        Expr::Function(f)
            if f.name
                .to_string()
                .eq_ignore_ascii_case("generate_subscripts") =>
        {
            if let Some(arg) = first_arg(f).filter(is_vector_column) {
                *expr = call(
                    "unnest",
                    call_with(
                        "__pg_subscripts",
                        vec![arg, Expr::value(Value::Number("0".into(), false))],
                    ),
                );
            }
        }
        _ => {}
    });
}

fn shift_subscript(sub: &mut Subscript) {
    match sub {
        Subscript::Index { index } => plus_one(index),
        Subscript::Slice {
            lower_bound,
            upper_bound,
            ..
        } => {
            if let Some(l) = lower_bound {
                plus_one(l);
            }
            if let Some(u) = upper_bound {
                plus_one(u);
            }
        }
    }
}

fn plus_one(e: &mut Expr) {
    let inner = std::mem::replace(e, Expr::value(Value::Null));
    *e = Expr::Nested(Box::new(Expr::BinaryOp {
        left: Box::new(Expr::Nested(Box::new(inner))),
        op: BinaryOperator::Plus,
        right: Box::new(Expr::value(Value::Number("1".into(), false))),
    }));
}

/// `ARRAY(SELECT x FROM unnest(arr) x)` and `ARRAY(SELECT 'p' || x FROM unnest(arr) x)`
/// (psql's `\d+` reloptions) are the array itself, or each element prefixed: a correlated
/// subquery DataFusion cannot plan. Not for user queries: over a NULL array PostgreSQL's
/// answer is `{}`, this one's NULL.
pub(super) fn arrays_of_unnest(statement: &mut Statement, _: &Context) {
    each_expr(statement, |expr| {
        if let Expr::Function(f) = expr
            && f.name.to_string().eq_ignore_ascii_case("array")
            && let Some(direct) = array_of_unnest(f)
        {
            *expr = direct;
        }
    });
}

/// psql's `\d` puts scalar subqueries in its output list whose WHERE tests outer columns
/// other than by `inner = outer`, which DataFusion cannot decorrelate (see
/// [`lift_outer_conditions`]).
pub(super) fn outer_conditions(statement: &mut Statement, _: &Context) {
    each_expr(statement, |expr| {
        if let Expr::Subquery(query) = expr
            && let Some(lifted) = lift_outer_conditions(query)
        {
            *expr = lifted;
        }
    });
}

/// `ARRAY(SELECT x FROM unnest(arr) x)` and `ARRAY(SELECT 'p' || x FROM unnest(arr) x)`
/// (psql's `\d+` reloptions) without a correlated subquery: the array itself, or each
/// element prefixed.
fn array_of_unnest(f: &Function) -> Option<Expr> {
    use datafusion::sql::sqlparser::ast::TableFactor;
    let FunctionArguments::Subquery(query) = &f.args else {
        return None;
    };
    let SetExpr::Select(select) = query.body.as_ref() else {
        return None;
    };
    if select.selection.is_some() || query.order_by.is_some() || select.from.len() != 1 {
        return None;
    }
    let from = &select.from[0];
    if !from.joins.is_empty() {
        return None;
    }
    let (array, alias) = match &from.relation {
        TableFactor::Table {
            name,
            alias: Some(alias),
            args: Some(args),
            ..
        } if name
            .0
            .last()
            .is_some_and(|p| p.to_string().eq_ignore_ascii_case("unnest")) =>
        {
            match args.args.as_slice() {
                [FunctionArg::Unnamed(FunctionArgExpr::Expr(e))] => {
                    (e.clone(), alias.name.value.clone())
                }
                _ => return None,
            }
        }
        TableFactor::UNNEST {
            alias: Some(alias),
            array_exprs,
            with_ordinality: false,
            ..
        } if array_exprs.len() == 1 => (array_exprs[0].clone(), alias.name.value.clone()),
        _ => return None,
    };
    let [SelectItem::UnnamedExpr(item)] = select.projection.as_slice() else {
        return None;
    };
    let is_alias = |e: &Expr| matches!(e, Expr::Identifier(id) if id.value == alias);
    if is_alias(item) {
        return Some(array);
    }
    if let Expr::BinaryOp {
        left,
        op: BinaryOperator::StringConcat,
        right,
    } = item
        && is_alias(right)
    {
        let mut prefix = call("__pg_prefix_elements", *left.clone());
        if let Expr::Function(pf) = &mut prefix
            && let FunctionArguments::List(list) = &mut pf.args
        {
            list.args
                .push(FunctionArg::Unnamed(FunctionArgExpr::Expr(array)));
        }
        return Some(prefix);
    }
    None
}

/// DataFusion cannot decorrelate a scalar subquery whose WHERE tests outer columns other than
/// by `inner = outer`. psql's `\d` has two: `AND a.atthasdef` (outer only) and
/// `AND a.attcollation <> t.typcollation` (inner against outer). Such conditions move out into
/// `CASE WHEN cond THEN (subquery) END`, an inner side becoming its own lookup subquery. For
/// the lookups these are (at most one row), the result is the same.
fn lift_outer_conditions(query: &mut Query) -> Option<Expr> {
    let SetExpr::Select(select) = query.body.as_mut() else {
        return None;
    };
    let inner = inner_names(&select.from);
    let selection = select.selection.take()?;
    let mut keep = Vec::new();
    let mut outer_only = Vec::new();
    let mut mixed = Vec::new();
    for c in conjuncts(selection) {
        match refs(&c, &inner) {
            (_, false) => keep.push(c),
            (false, true) => outer_only.push(c),
            (true, true) => match c {
                Expr::BinaryOp { left, op, right } if op != BinaryOperator::Eq => {
                    match (refs(&left, &inner), refs(&right, &inner)) {
                        ((true, false), (false, true)) | ((false, true), (true, false)) => {
                            mixed.push((*left, op, *right));
                        }
                        _ => keep.push(Expr::BinaryOp { left, op, right }),
                    }
                }
                other => keep.push(other),
            },
        }
    }
    select.selection = and_all(keep);
    if outer_only.is_empty() && mixed.is_empty() {
        return None;
    }
    let mut conditions = outer_only;
    for (left, op, right) in mixed {
        let lookup = |side: Expr| -> Expr {
            let mut q = query.clone();
            if let SetExpr::Select(sel) = q.body.as_mut() {
                sel.projection = vec![SelectItem::UnnamedExpr(call(SCALAR_SUBQUERY, side))];
            }
            Expr::Subquery(Box::new(q))
        };
        let (left, right) = if refs(&left, &inner).0 {
            (lookup(left), right)
        } else {
            (left, lookup(right))
        };
        conditions.push(Expr::BinaryOp {
            left: Box::new(left),
            op,
            right: Box::new(right),
        });
    }
    let condition = and_all(conditions)?;
    let mut case = datafusion::sql::sqlparser::parser::Parser::new(
        &datafusion::sql::sqlparser::dialect::PostgreSqlDialect {},
    )
    .try_with_sql("CASE WHEN TRUE THEN NULL END")
    .and_then(|mut p| p.parse_expr())
    .ok()?;
    if let Expr::Case { conditions, .. } = &mut case
        && let Some(when) = conditions.first_mut()
    {
        when.condition = condition;
        when.result = Expr::Subquery(Box::new(query.clone()));
    }
    Some(case)
}

#[cfg(test)]
mod tests {
    use super::super::tests::{applied, rewritten};
    use super::*;

    #[test]
    fn vector_columns_count_from_zero() {
        assert_eq!(
            applied(
                vector_subscripts,
                "SELECT i.indkey[0], proargtypes[0:1], array_upper(i.indkey, 1), generate_subscripts(i.indclass, 1), x[0]"
            ),
            "SELECT i.indkey[((0) + 1)], proargtypes[((0) + 1):((1) + 1)], array_upper(i.indkey, 1, 0), unnest(__pg_subscripts(i.indclass, 0)), x[0]"
        );
    }

    #[test]
    fn arrays_of_unnest_are_the_arrays() {
        assert_eq!(
            applied(
                arrays_of_unnest,
                "SELECT ARRAY(SELECT x FROM unnest(c.reloptions) x), ARRAY(SELECT 'toast.' || x FROM unnest(t.reloptions) x)"
            ),
            "SELECT c.reloptions, __pg_prefix_elements('toast.', t.reloptions)"
        );
    }

    #[test]
    fn outer_conditions_move_out_of_scalar_subqueries() {
        assert_eq!(
            applied(
                outer_conditions,
                "SELECT (SELECT c.n FROM c, t WHERE c.oid = a.x AND t.oid = a.y AND a.x <> t.z AND a.h) AS s FROM a"
            ),
            "SELECT CASE WHEN a.h AND a.x <> (SELECT __pg_scalar_subquery(t.z) FROM c, t WHERE c.oid = a.x AND t.oid = a.y) THEN (SELECT c.n FROM c, t WHERE c.oid = a.x AND t.oid = a.y) END AS s FROM a"
        );
    }

    #[test]
    fn catalog_rules_leave_user_queries_alone() {
        // A user's own column named like a vector column keeps PostgreSQL's subscripts.
        let user = "WITH t(indkey) AS (SELECT ARRAY[1, 2]) SELECT indkey[1] FROM t";
        assert!(rewritten(user).contains("indkey[1]"), "{}", rewritten(user));
        let user = "SELECT (SELECT s.stage_name FROM aws.apigatewayv2_stage s WHERE s.api_id <> a.api_id) FROM aws.apigatewayv2_stage a";
        assert!(!rewritten(user).contains("CASE"), "{}", rewritten(user));
        assert!(rewritten("SELECT i.indkey[0] FROM pg_index i").contains("indkey[((0) + 1)]"));
    }
}
