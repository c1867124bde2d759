//! Grouping by the stage table's primary key.

#[allow(unused_imports)]
use super::*;
use crate::schema::{TABLE_NAME, TABLE_SCHEMA, stage_schema};

/// `SELECT _key, stage_name, count(*) FROM aws.apigatewayv2_stage GROUP BY _key`: `_key` is
/// the table's primary key, so in PostgreSQL every other column of the table may be selected
/// ungrouped (it is functionally dependent on the key; each group is one row). Such column
/// references outside aggregates, in the select list, HAVING and ORDER BY, read
/// `first_value(column)`, which is that one row's value. (Declaring the key to DataFusion
/// instead would let it drop sort keys after an unnest, as if `_key` still decided them.)
/// Only a select over the table alone, grouped by plain expressions that include `_key`, and
/// without subqueries, is rewritten.
pub(super) fn grouped_by_primary_key(statement: &mut Statement, _: &Context) {
    struct Queries;
    impl datafusion::sql::sqlparser::ast::VisitorMut for Queries {
        type Break = ();
        fn pre_visit_query(&mut self, query: &mut Query) -> ControlFlow<()> {
            rewrite_query(query);
            ControlFlow::Continue(())
        }
    }
    let _ = datafusion::sql::sqlparser::ast::VisitMut::visit(statement, &mut Queries);
}

fn rewrite_query(query: &mut Query) {
    use datafusion::sql::sqlparser::ast::{GroupByExpr, OrderByKind};
    let SetExpr::Select(select) = query.body.as_mut() else {
        return;
    };
    let Some(qualifier) = stage_table_qualifier(&select.from) else {
        return;
    };
    let GroupByExpr::Expressions(keys, modifiers) = &select.group_by else {
        return;
    };
    if !modifiers.is_empty() {
        return;
    }
    let column_of = |e: &Expr| -> Option<String> {
        match e {
            Expr::Identifier(id) => Some(id.value.to_ascii_lowercase()),
            Expr::CompoundIdentifier(ids)
                if ids.len() == 2 && ids[0].value.eq_ignore_ascii_case(&qualifier) =>
            {
                Some(ids[1].value.to_ascii_lowercase())
            }
            _ => None,
        }
    };
    // GROUP BY 1 names the first output.
    let key_of = |k: &Expr| -> Option<String> {
        if let Expr::Value(ValueWithSpan {
            value: Value::Number(n, _),
            ..
        }) = k
        {
            let i: usize = n.parse().ok()?;
            return match select.projection.get(i.checked_sub(1)?)? {
                SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. } => {
                    column_of(e)
                }
                _ => None,
            };
        }
        column_of(k)
    };
    let grouped: HashSet<String> = keys.iter().filter_map(key_of).collect();
    if !grouped.contains("_key") {
        return;
    }
    let mut has_subquery = false;
    let _ = datafusion::sql::sqlparser::ast::visit_expressions(&*select, |e: &Expr| {
        has_subquery |= matches!(
            e,
            Expr::Subquery(_) | Expr::InSubquery { .. } | Expr::Exists { .. }
        );
        ControlFlow::<()>::Continue(())
    });
    if has_subquery {
        return;
    }
    let schema = stage_schema();
    let dependent =
        |e: &Expr| column_of(e).filter(|c| !grouped.contains(c) && schema.index_of(c).is_ok());
    let wrap = |e: &mut Expr| wrap_dependent(e, &dependent);
    for item in &mut select.projection {
        match item {
            SelectItem::UnnamedExpr(e) => {
                if let Some(c) = dependent(e) {
                    // The output keeps the column's name.
                    let expr = call("first_value", e.clone());
                    *item = SelectItem::ExprWithAlias {
                        expr,
                        alias: Ident::new(c),
                    };
                } else {
                    wrap(e);
                }
            }
            SelectItem::ExprWithAlias { expr, .. } => wrap(expr),
            _ => return,
        }
    }
    if let Some(having) = &mut select.having {
        wrap(having);
    }
    // An ORDER BY name that is an output alias sorts by that output, not the column.
    let aliases: HashSet<String> = select
        .projection
        .iter()
        .filter_map(|i| match i {
            SelectItem::ExprWithAlias { alias, .. } => Some(alias.value.to_ascii_lowercase()),
            _ => None,
        })
        .collect();
    if let Some(order) = &mut query.order_by
        && let OrderByKind::Expressions(exprs) = &mut order.kind
    {
        for o in exprs {
            if matches!(&o.expr, Expr::Identifier(id) if aliases.contains(&id.value.to_ascii_lowercase()))
            {
                continue;
            }
            wrap(&mut o.expr);
        }
    }
}

/// The name the stage table goes by when it is the query's only relation (no joins).
fn stage_table_qualifier(from: &[TableWithJoins]) -> Option<String> {
    let [from] = from else {
        return None;
    };
    let TableFactor::Table {
        name,
        alias,
        args: None,
        ..
    } = &from.relation
    else {
        return None;
    };
    let is_stage_table = match name.0.as_slice() {
        [ObjectNamePart::Identifier(s), ObjectNamePart::Identifier(t)] => {
            s.value.eq_ignore_ascii_case(TABLE_SCHEMA) && t.value.eq_ignore_ascii_case(TABLE_NAME)
        }
        _ => false,
    };
    if !is_stage_table || !from.joins.is_empty() {
        return None;
    }
    Some(alias.as_ref().map_or_else(
        || TABLE_NAME.to_owned(),
        |a| a.name.value.to_ascii_lowercase(),
    ))
}

/// Replaces each dependent column reference outside an aggregate with `first_value(column)`.
fn wrap_dependent(e: &mut Expr, dependent: &impl Fn(&Expr) -> Option<String>) {
    if dependent(e).is_some() {
        let column = std::mem::replace(e, Expr::value(Value::Null));
        *e = call("first_value", column);
        return;
    }
    if let Expr::Function(f) = e
        && (f.over.is_some()
            || super::subquery::AGGREGATES
                .contains(&f.name.to_string().to_ascii_lowercase().as_str()))
    {
        return;
    }
    // Children, one level at a time (the visitor would also enter aggregates).
    match e {
        Expr::BinaryOp { left, right, .. } => {
            wrap_dependent(left, dependent);
            wrap_dependent(right, dependent);
        }
        Expr::UnaryOp { expr, .. }
        | Expr::Nested(expr)
        | Expr::Cast { expr, .. }
        | Expr::IsNull(expr)
        | Expr::IsNotNull(expr)
        | Expr::IsTrue(expr)
        | Expr::IsFalse(expr) => wrap_dependent(expr, dependent),
        Expr::Function(f) => {
            if let FunctionArguments::List(list) = &mut f.args {
                for a in &mut list.args {
                    if let FunctionArg::Unnamed(FunctionArgExpr::Expr(x)) = a {
                        wrap_dependent(x, dependent);
                    }
                }
            }
        }
        Expr::Case {
            operand,
            conditions,
            else_result,
            ..
        } => {
            if let Some(o) = operand {
                wrap_dependent(o, dependent);
            }
            for when in conditions {
                wrap_dependent(&mut when.condition, dependent);
                wrap_dependent(&mut when.result, dependent);
            }
            if let Some(x) = else_result {
                wrap_dependent(x, dependent);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::applied;
    use super::*;

    #[test]
    fn columns_of_a_grouped_primary_key_are_its_rows() {
        assert_eq!(
            applied(
                grouped_by_primary_key,
                "SELECT _key, stage_name, upper(s.region) AS r, count(*) FROM aws.apigatewayv2_stage s GROUP BY s._key HAVING max(created_date) > now() OR auto_deploy ORDER BY stage_name"
            ),
            "SELECT _key, first_value(stage_name) AS stage_name, upper(first_value(s.region)) AS r, count(*) FROM aws.apigatewayv2_stage s GROUP BY s._key HAVING max(created_date) > now() OR first_value(auto_deploy) ORDER BY stage_name"
        );
        // ORDER BY an output alias sorts by the output.
        assert_eq!(
            applied(
                grouped_by_primary_key,
                "SELECT _key, upper(region) AS region FROM aws.apigatewayv2_stage GROUP BY _key ORDER BY region, stage_name"
            ),
            "SELECT _key, upper(first_value(region)) AS region FROM aws.apigatewayv2_stage GROUP BY _key ORDER BY region, first_value(stage_name)"
        );
        // Not grouped by the key, or over a join: as written.
        for sql in [
            "SELECT stage_name, count(*) FROM aws.apigatewayv2_stage GROUP BY stage_name",
            "SELECT a._key, b.region FROM aws.apigatewayv2_stage a, aws.apigatewayv2_stage b GROUP BY a._key",
        ] {
            assert_eq!(applied(grouped_by_primary_key, sql), sql);
        }
    }
}
