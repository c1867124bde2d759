//! PostgreSQL's ordered-set aggregates DataFusion lacks, as `array_agg` in order.

#[allow(unused_imports)]
use super::*;

/// `mode() WITHIN GROUP (ORDER BY x)` is `__pg_mode(array_agg(x ORDER BY x) FILTER (WHERE x
/// IS NOT NULL))`, and `percentile_disc(f) WITHIN GROUP (ORDER BY x)` is
/// `__pg_percentile_disc(array_agg(…), f)`: the group's non-NULL values in the requested
/// order (DESC too), from which `functions/ordered_set.rs` picks PostgreSQL's answer (the
/// most frequent value, the first in order among ties; the first value at or past the
/// fraction). An existing FILTER is kept alongside. Reports use both for "typical" values.
pub(super) fn ordered_set_aggregates(statement: &mut Statement, _: &Context) {
    use datafusion::sql::sqlparser::ast::FunctionArgumentClause;
    each_expr(statement, |expr| {
        let Expr::Function(f) = expr else {
            return;
        };
        let name = f.name.to_string().to_ascii_lowercase();
        let finish = match name.as_str() {
            "mode" => "__pg_mode",
            "percentile_disc" => "__pg_percentile_disc",
            _ => return,
        };
        if f.within_group.len() != 1 || f.over.is_some() {
            return;
        }
        let direct: Vec<Expr> = match &f.args {
            FunctionArguments::List(list) => match positional_args(&list.args) {
                Some(args) => args,
                None => return,
            },
            FunctionArguments::None => Vec::new(),
            FunctionArguments::Subquery(_) => return,
        };
        if direct.len() != usize::from(finish == "__pg_percentile_disc") {
            return;
        }
        let order = f.within_group[0].clone();
        let value = order.expr.clone();
        let not_null = Expr::IsNotNull(Box::new(value.clone()));
        let filter = match f.filter.take() {
            Some(existing) => Expr::BinaryOp {
                left: Box::new(Expr::Nested(existing)),
                op: BinaryOperator::And,
                right: Box::new(not_null),
            },
            None => not_null,
        };
        let mut agg = call("array_agg", value);
        if let Expr::Function(a) = &mut agg {
            if let FunctionArguments::List(list) = &mut a.args {
                list.clauses
                    .push(FunctionArgumentClause::OrderBy(vec![order]));
            }
            a.filter = Some(Box::new(filter));
        }
        let mut args = vec![agg];
        args.extend(direct);
        *expr = call_with(finish, args);
    });
}

#[cfg(test)]
mod tests {
    use super::super::tests::applied;
    use super::*;

    #[test]
    fn ordered_set_aggregates_are_ordered_arrays() {
        assert_eq!(
            applied(
                ordered_set_aggregates,
                "SELECT mode() WITHIN GROUP (ORDER BY r DESC), percentile_disc(0.5) WITHIN GROUP (ORDER BY n) FILTER (WHERE a) FROM t"
            ),
            "SELECT __pg_mode(array_agg(r ORDER BY r DESC) FILTER (WHERE r IS NOT NULL)), __pg_percentile_disc(array_agg(n ORDER BY n) FILTER (WHERE (a) AND n IS NOT NULL), 0.5) FROM t"
        );
    }
}
