//! PostgreSQL's set-returning functions, as `unnest` of functions returning the arrays of
//! their rows.

#[allow(unused_imports)]
use super::*;

/// A set-returning function: its rows are the elements of `arrays` (several are unnested side
/// by side) of its first argument read as `input`; its columns are named `columns`
/// (PostgreSQL's OUT parameter names; none: the function's name, or the alias in FROM), and
/// its values are of type `cast` (json elements are json).
pub(super) struct SetReturning {
    pub name: &'static str,
    pub arrays: &'static [&'static str],
    pub columns: &'static [&'static str],
    pub input: Option<Pg>,
    pub cast: Option<Pg>,
}

/// The PostgreSQL types a set-returning function reads or returns that DataFusion lacks.
#[derive(Debug, Clone, Copy)]
pub(super) enum Pg {
    Json,
    Jsonb,
    Hstore,
}

impl Pg {
    fn data_type(self) -> DataType {
        match self {
            Pg::Json => DataType::JSON,
            Pg::Jsonb => DataType::JSONB,
            Pg::Hstore => DataType::Custom(
                ObjectName(vec![ObjectNamePart::Identifier(Ident::new("hstore"))]),
                Vec::new(),
            ),
        }
    }

    fn cast(self, e: Expr) -> Expr {
        Expr::Cast {
            kind: CastKind::DoubleColon,
            expr: Box::new(e),
            data_type: self.data_type(),
            array: false,
            format: None,
        }
    }
}

const fn srf(
    name: &'static str,
    arrays: &'static [&'static str],
    columns: &'static [&'static str],
    input: Option<Pg>,
    cast: Option<Pg>,
) -> SetReturning {
    SetReturning {
        name,
        arrays,
        columns,
        input,
        cast,
    }
}

impl SetReturning {
    /// The arrays whose elements are the rows of this function called with `args`.
    pub(super) fn array_calls(&self, args: &[Expr]) -> Vec<Expr> {
        let mut args = args.to_vec();
        if let (Some(input), Some(first)) = (self.input, args.first_mut()) {
            let e = std::mem::replace(first, Expr::value(Value::Null));
            *first = input.cast(e);
        }
        self.arrays
            .iter()
            .map(|f| call_with(f, args.clone()))
            .collect()
    }

    /// One column of rows: `unnest(array)`; the last column (the values) is cast to the
    /// function's type.
    pub(super) fn rows(&self, array: Expr, last: bool) -> Expr {
        let rows = call("unnest", array);
        match self.cast {
            Some(ty) if last => ty.cast(rows),
            _ => rows,
        }
    }
}

const KEYS: &str = "__pg_json_object_keys";
const VALUES: &str = "__pg_json_object_values";
const VALUES_TEXT: &str = "__pg_json_object_values_text";
const ELEMENTS: &str = "__pg_json_array_elements";
const ELEMENTS_TEXT: &str = "__pg_json_array_elements_text";

/// The set-returning functions served this way. `generate_series` in FROM is DataFusion's
/// own table function; the two-column ones (`json_each`, hstore's `each`) only in FROM.
pub(super) const SET_RETURNING: &[SetReturning] = &[
    srf("generate_series", &["generate_series"], &[], None, None),
    srf("skeys", &["akeys"], &[], Some(Pg::Hstore), None),
    srf("svals", &["avals"], &[], Some(Pg::Hstore), None),
    srf(
        "each",
        &["akeys", "avals"],
        &["key", "value"],
        Some(Pg::Hstore),
        None,
    ),
    srf("json_object_keys", &[KEYS], &[], Some(Pg::Json), None),
    srf("jsonb_object_keys", &[KEYS], &[], Some(Pg::Jsonb), None),
    srf(
        "json_array_elements",
        &[ELEMENTS],
        &["value"],
        Some(Pg::Json),
        Some(Pg::Json),
    ),
    srf(
        "jsonb_array_elements",
        &[ELEMENTS],
        &["value"],
        Some(Pg::Jsonb),
        Some(Pg::Jsonb),
    ),
    srf(
        "json_array_elements_text",
        &[ELEMENTS_TEXT],
        &["value"],
        Some(Pg::Json),
        None,
    ),
    srf(
        "jsonb_array_elements_text",
        &[ELEMENTS_TEXT],
        &["value"],
        Some(Pg::Jsonb),
        None,
    ),
    srf(
        "json_each",
        &[KEYS, VALUES],
        &["key", "value"],
        Some(Pg::Json),
        Some(Pg::Json),
    ),
    srf(
        "jsonb_each",
        &[KEYS, VALUES],
        &["key", "value"],
        Some(Pg::Jsonb),
        Some(Pg::Jsonb),
    ),
    srf(
        "json_each_text",
        &[KEYS, VALUES_TEXT],
        &["key", "value"],
        Some(Pg::Json),
        None,
    ),
    srf(
        "jsonb_each_text",
        &[KEYS, VALUES_TEXT],
        &["key", "value"],
        Some(Pg::Jsonb),
        None,
    ),
    srf(
        "regexp_split_to_table",
        &["regexp_split_to_array"],
        &[],
        None,
        None,
    ),
    srf("regexp_matches", &["__pg_regexp_matches"], &[], None, None),
];

/// The set-returning function `name` (schema-qualified or not) calls, if it is one of ours.
pub(super) fn set_returning(name: &ObjectName) -> Option<&'static SetReturning> {
    let last = name.0.last()?.to_string().to_ascii_lowercase();
    SET_RETURNING.iter().find(|s| s.name == last)
}

/// A set-returning function as a select item returns one row per element in PostgreSQL
/// (several in one list are zipped, the shorter padded with NULL); here it is `unnest` of the
/// array of its rows, named as PostgreSQL names it: `SELECT skeys(tags), count(*) … GROUP BY 1`
/// (tag reports), `SELECT generate_series(…)`, `SELECT json_array_elements(…)`. The
/// two-column ones return records there and are left as written (refused).
pub(super) fn set_returning_items(statement: &mut Statement, _: &Context) {
    struct Items;
    fn unnested(f: Function, srf: &SetReturning) -> Expr {
        let FunctionArguments::List(list) = &f.args else {
            return Expr::Function(f);
        };
        let Some(args) = positional_args(&list.args) else {
            return Expr::Function(f);
        };
        match srf.array_calls(&args).pop() {
            Some(array) => srf.rows(array, true),
            None => Expr::Function(f),
        }
    }
    fn body(b: &mut SetExpr) {
        match b {
            SetExpr::Select(select) => {
                for item in &mut select.projection {
                    let srf = match &*item {
                        SelectItem::UnnamedExpr(Expr::Function(f))
                        | SelectItem::ExprWithAlias {
                            expr: Expr::Function(f),
                            ..
                        } => item_srf(f),
                        _ => None,
                    };
                    let Some(srf) = srf else {
                        continue;
                    };
                    let taken = std::mem::replace(item, SelectItem::Wildcard(Default::default()));
                    *item = match taken {
                        SelectItem::UnnamedExpr(Expr::Function(f)) => SelectItem::ExprWithAlias {
                            expr: unnested(f, srf),
                            alias: Ident::new(srf.name),
                        },
                        SelectItem::ExprWithAlias {
                            expr: Expr::Function(f),
                            alias,
                        } => SelectItem::ExprWithAlias {
                            expr: unnested(f, srf),
                            alias,
                        },
                        other => other,
                    };
                }
            }
            SetExpr::SetOperation { left, right, .. } => {
                body(left);
                body(right);
            }
            SetExpr::Query(q) => body(&mut q.body),
            _ => {}
        }
    }
    fn item_srf(f: &Function) -> Option<&'static SetReturning> {
        if f.over.is_some() || !matches!(f.args, FunctionArguments::List(_)) {
            return None;
        }
        set_returning(&f.name).filter(|s| s.arrays.len() == 1)
    }
    impl datafusion::sql::sqlparser::ast::VisitorMut for Items {
        type Break = ();
        fn pre_visit_query(&mut self, query: &mut Query) -> ControlFlow<()> {
            body(&mut query.body);
            ControlFlow::Continue(())
        }
    }
    let _ = datafusion::sql::sqlparser::ast::VisitMut::visit(statement, &mut Items);
}

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
        Some(s) if s.name != "generate_series" => Some((srf, exprs, alias.as_ref())),
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
    use datafusion::sql::sqlparser::ast::{JoinConstraint, JoinOperator};
    let SetExpr::Select(select) = query.body.as_mut() else {
        return;
    };
    let mut keep_empty = false;
    let srf_factor = match select.from.as_slice() {
        [first, second] if first.joins.is_empty() && second.joins.is_empty() => {
            second.relation.clone()
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
            keep_empty = match &join.join_operator {
                JoinOperator::CrossJoin(_) => false,
                JoinOperator::Join(c) | JoinOperator::Inner(c) if on_true(c) => false,
                JoinOperator::Left(c) | JoinOperator::LeftOuter(c) if on_true(c) => true,
                _ => return,
            };
            join.relation.clone()
        }
        _ => return,
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
    // The name `r` goes by outside, and the name of `r.*` inside its derived table.
    let (qualifier, star) = match &base {
        TableFactor::Table {
            name,
            alias,
            args: None,
            ..
        } => match alias {
            Some(a) => (
                a.name.value.clone(),
                ObjectName(vec![ObjectNamePart::Identifier(a.name.clone())]),
            ),
            None => match name.0.last() {
                Some(ObjectNamePart::Identifier(id)) => (id.value.clone(), name.clone()),
                _ => return,
            },
        },
        TableFactor::Derived { alias: Some(a), .. } => (
            a.name.value.clone(),
            ObjectName(vec![ObjectNamePart::Identifier(a.name.clone())]),
        ),
        _ => return,
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

/// `information_schema._pg_expandarray(arr)`: one `(x, n)` row per element (pgjdbc's
/// `getPrimaryKeys` and `getIndexInfo`).
pub(super) fn expandarray(statement: &mut Statement, _: &Context) {
    each_expr(statement, |expr| {
        if let Expr::Function(f) = expr
            && f.name
                .0
                .last()
                .is_some_and(|p| p.to_string().eq_ignore_ascii_case("_pg_expandarray"))
            && let Some(arg) = first_arg(f)
        {
            *expr = call("unnest", call("__pg_expandarray", arg));
        }
    });
}

/// `generate_subscripts(arr, dim)`: the subscripts of an array, in step with `unnest` of it,
/// i.e. the array of its subscripts, unnested (psql's `\d` of an index).
pub(super) fn generate_subscripts(statement: &mut Statement, _: &Context) {
    each_expr(statement, |expr| {
        if let Expr::Function(f) = expr
            && f.name
                .to_string()
                .eq_ignore_ascii_case("generate_subscripts")
            && let Some(arg) = first_arg(f)
        {
            *expr = call(
                "unnest",
                call_with(
                    "__pg_subscripts",
                    vec![arg, Expr::value(Value::Number("1".into(), false))],
                ),
            );
        }
    });
}

#[cfg(test)]
mod tests {
    use super::super::tests::applied;
    use super::*;

    #[test]
    fn set_returning_items_are_unnested() {
        assert_eq!(
            applied(
                set_returning_items,
                "SELECT skeys(tags), json_array_elements(j) AS e, generate_series(1, 2) FROM t"
            ),
            "SELECT unnest(akeys(tags::hstore)) AS skeys, unnest(__pg_json_array_elements(j::JSON))::JSON AS e, unnest(generate_series(1, 2)) AS generate_series FROM t"
        );
    }

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
