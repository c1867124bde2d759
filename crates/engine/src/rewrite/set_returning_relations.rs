//! Set-returning functions in FROM, as derived tables of the unnested arrays of their rows
//! (the functions themselves are listed in `set_returning.rs`).

use super::set_returning::{SetReturning, set_returning};
#[allow(unused_imports)]
use super::*;

/// A set-returning function (or a one-argument `unnest`) in FROM is a derived table of
/// `unnest` of the array(s) of its rows, its columns named as PostgreSQL names them (the
/// alias for a one-column function, else the OUT parameter names): DataFusion's UNNEST factor
/// ignores column aliases and cannot read columns of an earlier FROM item. So when its
/// arguments read the one relation before it (`FROM stages s, json_each(s.default_route_settings)
/// e`, `… CROSS JOIN skeys(s.tags) k`, `… JOIN LATERAL each(s.tags) e ON true`, the way tag and
/// setting reports are written), the rows are unnested in that relation's own derived table,
/// `(SELECT s.*, unnest(…) AS key, … FROM stages s) AS s`, and `e.key` reads `s.key`: the
/// same rows as PostgreSQL's lateral join, one per element, none for a NULL or empty set.
/// `LEFT JOIN LATERAL … ON true` keeps a relation row whose set is empty or NULL, with NULLs:
/// the array becomes `[NULL]` then. A form this cannot keep exact (`s.*` in the output, more
/// relations) is left as written and refused.
pub(super) fn set_returning_relations(statement: &mut Statement, _: &Context) {
    struct Queries;
    impl datafusion::sql::sqlparser::ast::VisitorMut for Queries {
        type Break = ();
        fn pre_visit_query(&mut self, query: &mut Query) -> ControlFlow<()> {
            if let SetExpr::Select(select) = query.body.as_mut() {
                for from in &mut select.from {
                    derive(&mut from.relation);
                    for join in &mut from.joins {
                        derive(&mut join.relation);
                    }
                }
            }
            lateral(query);
            ControlFlow::Continue(())
        }
    }
    let _ = datafusion::sql::sqlparser::ast::VisitMut::visit(statement, &mut Queries);
}

/// A call in FROM that is a set-returning function here: (function, arguments, alias).
fn from_call(
    t: &TableFactor,
) -> Option<(
    Option<&'static SetReturning>,
    Vec<Expr>,
    Option<&datafusion::sql::sqlparser::ast::TableAlias>,
)> {
    if let TableFactor::UNNEST {
        alias,
        array_exprs,
        with_offset: false,
        with_ordinality: false,
        ..
    } = t
        && array_exprs.len() == 1
    {
        return Some((None, array_exprs.clone(), alias.as_ref()));
    }
    let (name, args, alias) = match t {
        TableFactor::Table {
            name,
            args: Some(args),
            alias,
            with_ordinality: false,
            ..
        } => (name, &args.args, alias),
        TableFactor::Function {
            name, args, alias, ..
        } => (name, args, alias),
        _ => return None,
    };
    let exprs = positional_args(args)?;
    let srf = set_returning(name);
    let is_unnest = name
        .0
        .last()
        .is_some_and(|p| p.to_string().eq_ignore_ascii_case("unnest"));
    match srf {
        // `generate_series` over constants is DataFusion's own table function; over columns of
        // an earlier FROM item (`generate_series(1, s.n)`) it is the unnested array of its rows.
        Some(s) if s.name != "generate_series" || reads_columns(&exprs) => {
            Some((srf, exprs, alias.as_ref()))
        }
        None if is_unnest && exprs.len() == 1 => Some((None, exprs, alias.as_ref())),
        _ => None,
    }
}

/// The select list `unnest(…) AS column, …` of a call in FROM, and the name its relation goes
/// by.
///
/// With `keep_empty` (LEFT JOIN LATERAL), an empty or NULL set is one row of NULLs.
fn unnested_columns(t: &TableFactor, keep_empty: bool) -> Option<(Vec<SelectItem>, String)> {
    let (srf, args, alias) = from_call(t)?;
    let function = match srf {
        Some(s) => s.name,
        None => "unnest",
    };
    let relation = alias.map_or_else(|| function.to_owned(), |a| a.name.value.clone());
    let (arrays, mut names): (Vec<Expr>, Vec<String>) = match srf {
        Some(s) => (
            s.array_calls(&args),
            if s.columns.is_empty() {
                vec![alias.map_or_else(|| function.to_owned(), |a| a.name.value.clone())]
            } else {
                s.columns.iter().map(|c| (*c).to_owned()).collect()
            },
        ),
        None => (args, vec![relation.clone()]),
    };
    if let Some(a) = alias
        && !a.columns.is_empty()
    {
        if a.columns.len() != names.len() {
            return None;
        }
        names = a.columns.iter().map(|c| c.name.value.clone()).collect();
    }
    if arrays.len() != names.len() {
        return None;
    }
    let count = arrays.len();
    let arrays = if keep_empty {
        arrays
            .into_iter()
            .map(|a| {
                let text =
                    format!("CASE WHEN cardinality({a}) > 0 THEN {a} ELSE make_array(NULL) END");
                datafusion::sql::sqlparser::parser::Parser::new(
                    &datafusion::sql::sqlparser::dialect::PostgreSqlDialect {},
                )
                .try_with_sql(&text)
                .and_then(|mut p| p.parse_expr())
                .ok()
            })
            .collect::<Option<Vec<_>>>()?
    } else {
        arrays
    };
    let items = arrays
        .into_iter()
        .zip(names)
        .enumerate()
        .map(|(i, (array, name))| SelectItem::ExprWithAlias {
            expr: match srf {
                Some(s) => s.rows(array, i + 1 == count),
                None => call("unnest", array),
            },
            alias: Ident::with_quote('"', name),
        })
        .collect();
    Some((items, relation))
}

fn reads_columns(exprs: &[Expr]) -> bool {
    let mut found = false;
    for e in exprs {
        let _ = datafusion::sql::sqlparser::ast::visit_expressions(e, |x: &Expr| {
            if matches!(x, Expr::Identifier(_) | Expr::CompoundIdentifier(_)) {
                found = true;
            }
            ControlFlow::<()>::Continue(())
        });
    }
    found
}

fn select_of(items: Vec<SelectItem>, from: Vec<TableWithJoins>) -> Option<Box<Query>> {
    let mut q = datafusion::sql::sqlparser::parser::Parser::new(
        &datafusion::sql::sqlparser::dialect::PostgreSqlDialect {},
    )
    .try_with_sql("SELECT 1")
    .and_then(|mut p| p.parse_query())
    .ok()?;
    if let SetExpr::Select(select) = q.body.as_mut() {
        select.projection = items;
        select.from = from;
    }
    Some(q)
}

/// A call in FROM whose arguments are constants becomes a derived table of its rows.
fn derive(t: &mut TableFactor) {
    let Some((_, args, _)) = from_call(t) else {
        return;
    };
    if reads_columns(&args) {
        return;
    }
    let Some((items, relation)) = unnested_columns(t, false) else {
        return;
    };
    let Some(subquery) = select_of(items, Vec::new()) else {
        return;
    };
    *t = TableFactor::Derived {
        lateral: false,
        subquery,
        alias: Some(datafusion::sql::sqlparser::ast::TableAlias {
            explicit: true,
            name: Ident::new(relation),
            columns: Vec::new(),
            at: None,
        }),
        sample: None,
    };
}

/// Counts the relations (aliases, else last names) called `.0`.
struct CountNames<'a>(&'a str, &'a mut usize);

impl datafusion::sql::sqlparser::ast::Visitor for CountNames<'_> {
    type Break = ();
    fn pre_visit_table_factor(&mut self, t: &TableFactor) -> ControlFlow<()> {
        let name = match t {
            TableFactor::Table { alias: Some(a), .. }
            | TableFactor::Derived { alias: Some(a), .. }
            | TableFactor::Function { alias: Some(a), .. }
            | TableFactor::UNNEST { alias: Some(a), .. } => Some(a.name.value.to_ascii_lowercase()),
            TableFactor::Table { name, .. } | TableFactor::Function { name, .. } => {
                name.0.last().map(|p| p.to_string().to_ascii_lowercase())
            }
            _ => None,
        };
        if name.as_deref() == Some(self.0) {
            *self.1 += 1;
        }
        ControlFlow::Continue(())
    }
}

/// `FROM r, srf(r.x) e` (or `r CROSS JOIN srf(…)`, `r [INNER] JOIN [LATERAL] srf(…) ON true`):
/// the rows are unnested in `r`'s own derived table (see [`set_returning_relations`]).
fn lateral(query: &mut Query) {
    let SetExpr::Select(select) = query.body.as_mut() else {
        return;
    };
    let Some((srf_factor, keep_empty)) = set_returning_join(&select.from) else {
        return;
    };
    let Some((_, args, _)) = from_call(&srf_factor) else {
        return;
    };
    if !reads_columns(&args) {
        return;
    }
    let Some((mut items, srf_name)) = unnested_columns(&srf_factor, keep_empty) else {
        return;
    };
    // `e.key` is renamed throughout the query below: another relation named like the function
    // (in a subquery) would be renamed too, so then it stays as written.
    let mut named = 0;
    let _ = datafusion::sql::sqlparser::ast::Visit::visit(
        &*query,
        &mut CountNames(&srf_name.to_ascii_lowercase(), &mut named),
    );
    if named > 1 {
        return;
    }
    let SetExpr::Select(select) = query.body.as_mut() else {
        return;
    };
    let base = select.from[0].relation.clone();
    let Some((qualifier, star)) = base_names(&base) else {
        return;
    };
    // `r.*` in the output would gain the function's columns.
    let star_of_base = select.projection.iter().any(|i| {
        matches!(i, SelectItem::QualifiedWildcard(kind, _) if kind.to_string().eq_ignore_ascii_case(&qualifier))
    });
    let star_of_srf = select.projection.iter().any(|i| {
        matches!(i, SelectItem::QualifiedWildcard(kind, _) if kind.to_string().eq_ignore_ascii_case(&srf_name))
    });
    if star_of_base || star_of_srf || srf_name.eq_ignore_ascii_case(&qualifier) {
        return;
    }
    let mut all = vec![SelectItem::QualifiedWildcard(
        datafusion::sql::sqlparser::ast::SelectItemQualifiedWildcardKind::ObjectName(star),
        Default::default(),
    )];
    all.append(&mut items);
    let Some(subquery) = select_of(
        all,
        vec![TableWithJoins {
            relation: base,
            joins: Vec::new(),
        }],
    ) else {
        return;
    };
    select.from = vec![TableWithJoins {
        relation: TableFactor::Derived {
            lateral: false,
            subquery,
            alias: Some(datafusion::sql::sqlparser::ast::TableAlias {
                explicit: true,
                name: Ident::new(qualifier.clone()),
                columns: Vec::new(),
                at: None,
            }),
            sample: None,
        },
        joins: Vec::new(),
    }];
    // `e.key` is now `r.key`.
    let _ = visit_expressions_mut(query, |e: &mut Expr| {
        if let Expr::CompoundIdentifier(ids) = e
            && ids.len() == 2
            && ids[0].value.eq_ignore_ascii_case(&srf_name)
        {
            ids[0] = Ident::new(qualifier.clone());
        }
        ControlFlow::<()>::Continue(())
    });
}

/// The set-returning relation of `FROM r, srf(…)` (or one join of `r` to it) and whether rows
/// of `r` it yields nothing for are kept (a LEFT JOIN … ON true).
fn set_returning_join(from: &[TableWithJoins]) -> Option<(TableFactor, bool)> {
    use datafusion::sql::sqlparser::ast::{JoinConstraint, JoinOperator};
    match from {
        [first, second] if first.joins.is_empty() && second.joins.is_empty() => {
            Some((second.relation.clone(), false))
        }
        [only] if only.joins.len() == 1 => {
            let join = &only.joins[0];
            let on_true = |c: &JoinConstraint| {
                matches!(
                    c,
                    JoinConstraint::On(Expr::Value(ValueWithSpan {
                        value: Value::Boolean(true),
                        ..
                    }))
                )
            };
            let keep_empty = match &join.join_operator {
                JoinOperator::CrossJoin(_) => false,
                JoinOperator::Join(c) | JoinOperator::Inner(c) if on_true(c) => false,
                JoinOperator::Left(c) | JoinOperator::LeftOuter(c) if on_true(c) => true,
                _ => return None,
            };
            Some((join.relation.clone(), keep_empty))
        }
        _ => None,
    }
}

/// The name relation `base` goes by outside, and the name of `base.*` inside its derived table.
fn base_names(base: &TableFactor) -> Option<(String, ObjectName)> {
    match base {
        TableFactor::Table {
            name,
            alias,
            args: None,
            ..
        } => match alias {
            Some(a) => Some((
                a.name.value.clone(),
                ObjectName(vec![ObjectNamePart::Identifier(a.name.clone())]),
            )),
            None => match name.0.last() {
                Some(ObjectNamePart::Identifier(id)) => Some((id.value.clone(), name.clone())),
                _ => None,
            },
        },
        TableFactor::Derived { alias: Some(a), .. } => Some((
            a.name.value.clone(),
            ObjectName(vec![ObjectNamePart::Identifier(a.name.clone())]),
        )),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::applied;
    use super::*;

    #[test]
    fn set_returning_relations_are_derived_tables() {
        assert_eq!(
            applied(
                set_returning_relations,
                "SELECT * FROM unnest(ARRAY[1, 2]) u, jsonb_each('{}') e, skeys('a=>1')"
            ),
            "SELECT * FROM (SELECT unnest(ARRAY[1, 2]) AS \"u\") AS u, (SELECT unnest(__pg_json_object_keys('{}'::JSONB)) AS \"key\", unnest(__pg_json_object_values('{}'::JSONB))::JSONB AS \"value\") AS e, (SELECT unnest(akeys('a=>1'::hstore)) AS \"skeys\") AS skeys"
        );
    }

    #[test]
    fn lateral_set_returning_relations_unnest_in_the_relation() {
        assert_eq!(
            applied(
                set_returning_relations,
                "SELECT s.a, e.key FROM t s, json_each(s.j) e WHERE e.value IS NOT NULL ORDER BY e.key"
            ),
            "SELECT s.a, s.key FROM (SELECT s.*, unnest(__pg_json_object_keys(s.j::JSON)) AS \"key\", unnest(__pg_json_object_values(s.j::JSON))::JSON AS \"value\" FROM t s) AS s WHERE s.value IS NOT NULL ORDER BY s.key"
        );
        assert_eq!(
            applied(
                set_returning_relations,
                "SELECT count(*) FROM aws.t CROSS JOIN skeys(tags) k"
            ),
            "SELECT count(*) FROM (SELECT aws.t.*, unnest(akeys(tags::hstore)) AS \"k\" FROM aws.t) AS t"
        );
        // A subquery's own relation named like the function keeps its name: as written.
        let shadowed =
            "SELECT s.a FROM t s, skeys(s.h) e WHERE EXISTS (SELECT 1 FROM u e WHERE e.k = 1)";
        assert_eq!(applied(set_returning_relations, shadowed), shadowed);
        // LEFT JOIN LATERAL keeps rows without elements, with a NULL.
        assert_eq!(
            applied(
                set_returning_relations,
                "SELECT s.a, k FROM t s LEFT JOIN LATERAL skeys(s.h) k ON true"
            ),
            "SELECT s.a, k FROM (SELECT s.*, unnest(CASE WHEN cardinality(akeys(s.h::hstore)) > 0 THEN akeys(s.h::hstore) ELSE make_array(NULL) END) AS \"k\" FROM t s) AS s"
        );
    }
}
