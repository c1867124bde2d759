//! PostgreSQL spellings DataFusion's parser accepts but its planner does not, each turned into
//! the DataFusion spelling of the same thing. Every rule here keeps the query's meaning.

#[allow(unused_imports)]
use super::*;

/// `x COLLATE "C"` is `x`: every text comparison here is by code point already, which is what
/// the `C` collation means (psql, pgAdmin and DBeaver add `COLLATE pg_catalog.default` to
/// their catalog queries).
pub(super) fn drop_collate(statement: &mut Statement, _: &Context) {
    each_expr(statement, |expr| {
        if let Expr::Collate { expr: inner, .. } = expr {
            *expr = std::mem::replace(inner.as_mut(), Expr::value(Value::Null));
        }
    });
}

/// `a OPERATOR(pg_catalog.~) b` is `a ~ b` (psql's `\d` name patterns).
pub(super) fn qualified_operators(statement: &mut Statement, _: &Context) {
    each_expr(statement, |expr| {
        if let Expr::BinaryOp { op, .. } = expr
            && let BinaryOperator::PGCustomBinaryOperator(parts) = op
            && let Some(standard) = parts.last().and_then(|o| standard_operator(o))
        {
            *op = standard;
        }
    });
}

fn standard_operator(op: &str) -> Option<BinaryOperator> {
    Some(match op {
        "~" => BinaryOperator::PGRegexMatch,
        "~*" => BinaryOperator::PGRegexIMatch,
        "!~" => BinaryOperator::PGRegexNotMatch,
        "!~*" => BinaryOperator::PGRegexNotIMatch,
        "~~" => BinaryOperator::PGLikeMatch,
        "~~*" => BinaryOperator::PGILikeMatch,
        "!~~" => BinaryOperator::PGNotLikeMatch,
        "!~~*" => BinaryOperator::PGNotILikeMatch,
        "=" => BinaryOperator::Eq,
        "<>" | "!=" => BinaryOperator::NotEq,
        "<" => BinaryOperator::Lt,
        "<=" => BinaryOperator::LtEq,
        ">" => BinaryOperator::Gt,
        ">=" => BinaryOperator::GtEq,
        "+" => BinaryOperator::Plus,
        "-" => BinaryOperator::Minus,
        "*" => BinaryOperator::Multiply,
        "/" => BinaryOperator::Divide,
        "%" => BinaryOperator::Modulo,
        "||" => BinaryOperator::StringConcat,
        "&" => BinaryOperator::BitwiseAnd,
        "|" => BinaryOperator::BitwiseOr,
        "@>" => BinaryOperator::AtArrow,
        "<@" => BinaryOperator::ArrowAt,
        _ => return None,
    })
}

/// `pg_catalog.f()` and `information_schema.f()` are the functions `f()`, and
/// `x::pg_catalog.text` is `x::text` (every client that schema-qualifies its catalog queries:
/// psql, pgjdbc, Npgsql, DBeaver).
pub(super) fn catalog_qualified_names(statement: &mut Statement, _: &Context) {
    each_expr(statement, |expr| match expr {
        Expr::Function(f) => {
            if let [ObjectNamePart::Identifier(schema), last] = f.name.0.as_slice()
                && is_catalog_schema(&schema.value)
            {
                f.name.0 = vec![last.clone()];
            }
        }
        Expr::Cast { data_type, .. } => {
            if let DataType::Custom(name, modifiers) = data_type
                && let [
                    ObjectNamePart::Identifier(schema),
                    ObjectNamePart::Identifier(ty),
                ] = name.0.as_slice()
                && schema.value.eq_ignore_ascii_case("pg_catalog")
                && modifiers.is_empty()
                && let Ok(parsed) = datafusion::sql::sqlparser::parser::Parser::new(
                    &datafusion::sql::sqlparser::dialect::PostgreSqlDialect {},
                )
                .try_with_sql(&ty.value)
                .and_then(|mut p| p.parse_data_type())
            {
                *data_type = parsed;
            }
        }
        _ => {}
    });
}

fn is_catalog_schema(schema: &str) -> bool {
    schema.eq_ignore_ascii_case("pg_catalog") || schema.eq_ignore_ascii_case("information_schema")
}

/// `LIKE p ESCAPE 'c'` with an escape character other than a backslash: DataFusion's LIKE
/// escapes only with a backslash, so the pattern is translated at run time by
/// `__pg_like_escape` (SQLAlchemy writes `ESCAPE '/'`).
pub(super) fn like_escape(statement: &mut Statement, _: &Context) {
    each_expr(statement, |expr| {
        if let Expr::Like {
            pattern,
            escape_char,
            ..
        }
        | Expr::ILike {
            pattern,
            escape_char,
            ..
        } = expr
            && let Some(ValueWithSpan {
                value: Value::SingleQuotedString(c),
                ..
            }) = escape_char
            && c != "\\"
        {
            let c = c.clone();
            let p = std::mem::replace(pattern.as_mut(), Expr::value(Value::Null));
            **pattern = call_with(
                "__pg_like_escape",
                vec![p, Expr::value(Value::SingleQuotedString(c))],
            );
            *escape_char = None;
        }
    });
}

/// `ARRAY[a, b]` is the call `make_array(a, b)` DataFusion plans it as, spelled so that its
/// items are planned with the query's context: DataFusion plans an array constructor's items
/// without the enclosing query, so an outer column inside one (`(SELECT … FROM (SELECT
/// unnest(ARRAY[s.n]) …)) FROM s`) or a subquery among its items did not resolve. Runs after
/// the rules that read array constructors; names are PostgreSQL's either way (`naming` reads
/// the statement as written).
pub(super) fn array_constructors(statement: &mut Statement, _: &Context) {
    each_expr(statement, |expr| {
        if let Expr::Array(array) = expr {
            let items = std::mem::take(&mut array.elem);
            *expr = call_with("make_array", items);
        }
    });
}

/// An array literal written as text is the array of its items: `x = ANY('{a,b}')`,
/// `x <> ALL('{1,2}'::oid[])`, `'{a,"x y"}'::text[]` (psycopg, pgcli and ibis pass lists this
/// way; psql's `\dT` writes them). The comparison or cast around the items gives them their
/// type. A malformed literal is read at run time by `__pg_array_in`, which fails with
/// array_in's error.
pub(super) fn array_literals(statement: &mut Statement, _: &Context) {
    fn read(text: &str) -> Expr {
        match crate::pg_catalog::parse_array(text) {
            Ok(items) => text_array(items),
            Err(_) => call(
                "__pg_array_in",
                Expr::value(Value::SingleQuotedString(text.to_owned())),
            ),
        }
    }
    each_expr(statement, |expr| match expr {
        Expr::AnyOp { right, .. } | Expr::AllOp { right, .. } => {
            let text = match right.as_ref() {
                Expr::Value(ValueWithSpan {
                    value: Value::SingleQuotedString(t),
                    ..
                }) => Some(t.clone()),
                Expr::Cast { expr: inner, .. } => match inner.as_ref() {
                    Expr::Value(ValueWithSpan {
                        value: Value::SingleQuotedString(t),
                        ..
                    }) => Some(t.clone()),
                    _ => None,
                },
                _ => None,
            };
            if let Some(t) = text {
                **right = read(&t);
            }
        }
        Expr::Cast {
            expr: inner,
            data_type: DataType::Array(_),
            ..
        } => {
            if let Expr::Value(ValueWithSpan {
                value: Value::SingleQuotedString(t),
                ..
            }) = inner.as_ref()
            {
                **inner = read(t);
            }
        }
        _ => {}
    });
}

/// `x::varchar(n)` and `x::char(1)` keep the first n characters, as an explicit cast does in
/// PostgreSQL (`refuse.rs` checked n and refused `char(n > 1)`, whose padding DataFusion
/// cannot represent).
pub(super) fn character_casts(statement: &mut Statement, _: &Context) {
    each_expr(statement, |expr| {
        let Expr::Cast {
            expr: inner,
            data_type,
            ..
        } = expr
        else {
            return;
        };
        let kept = match data_type {
            DataType::Varchar(Some(CharacterLength::IntegerLength { length, .. }))
            | DataType::CharacterVarying(Some(CharacterLength::IntegerLength { length, .. }))
            | DataType::Char(Some(CharacterLength::IntegerLength { length, .. }))
            | DataType::Character(Some(CharacterLength::IntegerLength { length, .. })) => {
                Some(*length)
            }
            DataType::Char(None) | DataType::Character(None) => Some(1),
            _ => None,
        };
        if let Some(n) = kept {
            let text = Expr::Cast {
                kind: CastKind::DoubleColon,
                expr: Box::new(std::mem::replace(inner.as_mut(), Expr::value(Value::Null))),
                data_type: DataType::Text,
                array: false,
                format: None,
            };
            let n = Expr::value(Value::Number(n.to_string(), false));
            **inner = call_with("left", vec![text, n]);
            *data_type = DataType::Text;
        }
    });
}

/// `(f(x)).n`, `(t.keys).x`: a field of a composite value is DataFusion's `value['n']`
/// (pgjdbc's `(information_schema._pg_expandarray(i.indkey)).n`).
pub(super) fn composite_fields(statement: &mut Statement, _: &Context) {
    each_expr(statement, |expr| {
        if let Expr::CompoundFieldAccess { root, access_chain } = expr
            && !matches!(
                root.as_ref(),
                Expr::Identifier(_) | Expr::CompoundIdentifier(_)
            )
        {
            for access in access_chain.iter_mut() {
                if let AccessExpr::Dot(Expr::Identifier(field)) = access {
                    let name = field.value.to_ascii_lowercase();
                    *access = AccessExpr::Subscript(Subscript::Index {
                        index: Expr::value(Value::SingleQuotedString(name)),
                    });
                }
            }
        }
    });
}

/// `substring(x FROM 'pattern')`: with a text pattern PostgreSQL's substring is the part of `x`
/// that matches the POSIX regular expression (its first parenthesized group, if any), where
/// DataFusion only knows positions. A quoted literal is text (an unknown literal resolves to
/// text there), so it becomes `__pg_substring_regex(x, pattern)`.
pub(super) fn substring_patterns(statement: &mut Statement, _: &Context) {
    each_expr(statement, |expr| {
        if let Expr::Substring {
            expr: text,
            substring_from: Some(from),
            substring_for: None,
            ..
        } = expr
            && matches!(
                from.as_ref(),
                Expr::Value(ValueWithSpan {
                    value: Value::SingleQuotedString(_),
                    ..
                })
            )
        {
            let text = std::mem::replace(text.as_mut(), Expr::value(Value::Null));
            let from = std::mem::replace(from.as_mut(), Expr::value(Value::Null));
            *expr = call_with("__pg_substring_regex", vec![text, from]);
        }
    });
}

/// PostgreSQL's other spellings of functions and operators DataFusion has: `ceiling(x)` is
/// `ceil(x)`, and `mod(a, b)` is `a % b` (same sign rule, same division-by-zero error).
pub(super) fn function_synonyms(statement: &mut Statement, _: &Context) {
    each_expr(statement, |expr| {
        let Expr::Function(f) = expr else {
            return;
        };
        let [ObjectNamePart::Identifier(name)] = f.name.0.as_slice() else {
            return;
        };
        if name.value.eq_ignore_ascii_case("ceiling") {
            f.name = ObjectName(vec![ObjectNamePart::Identifier(Ident::new("ceil"))]);
        } else if name.value.eq_ignore_ascii_case("mod")
            && f.over.is_none()
            && let FunctionArguments::List(list) = &f.args
            && let Some([a, b]) = positional_args(&list.args).as_deref()
        {
            *expr = Expr::Nested(Box::new(Expr::BinaryOp {
                left: Box::new(Expr::Nested(Box::new(a.clone()))),
                op: BinaryOperator::Modulo,
                right: Box::new(Expr::Nested(Box::new(b.clone()))),
            }));
        }
    });
}

/// `CURRENT_SCHEMA` without parentheses is the function `current_schema()`, as in PostgreSQL's
/// grammar, where the word is reserved and never a column (ibis asks `SELECT CURRENT_SCHEMA`).
pub(super) fn bare_current_schema(statement: &mut Statement, _: &Context) {
    each_expr(statement, |expr| {
        if let Expr::Identifier(ident) = expr
            && ident.quote_style.is_none()
            && ident.value.eq_ignore_ascii_case("current_schema")
        {
            *expr = call_with("current_schema", Vec::new());
        }
    });
}

/// `make_interval(days => 3, hours => 4)`: PostgreSQL's named arguments (any may be left out,
/// each defaulting to 0) become the seven positional ones `make_interval(years, months, weeks,
/// days, hours, mins, secs)`.
pub(super) fn make_interval_arguments(statement: &mut Statement, _: &Context) {
    const NAMES: [&str; 7] = ["years", "months", "weeks", "days", "hours", "mins", "secs"];
    each_expr(statement, |expr| {
        let Expr::Function(f) = expr else {
            return;
        };
        if !f.name.to_string().eq_ignore_ascii_case("make_interval") {
            return;
        }
        let FunctionArguments::List(list) = &mut f.args else {
            return;
        };
        let mut slots: [Option<Expr>; 7] = Default::default();
        for (i, arg) in list.args.iter().enumerate() {
            match arg {
                FunctionArg::Unnamed(FunctionArgExpr::Expr(e)) if i < 7 => {
                    slots[i] = Some(e.clone());
                }
                FunctionArg::Named {
                    name,
                    arg: FunctionArgExpr::Expr(e),
                    ..
                }
                | FunctionArg::ExprNamed {
                    name: Expr::Identifier(name),
                    arg: FunctionArgExpr::Expr(e),
                    ..
                } => {
                    let Some(at) = NAMES
                        .iter()
                        .position(|n| n.eq_ignore_ascii_case(&name.value))
                    else {
                        return;
                    };
                    slots[at] = Some(e.clone());
                }
                _ => return,
            }
        }
        list.args = slots
            .into_iter()
            .enumerate()
            .map(|(i, e)| {
                let zero = if i == 6 { "0.0" } else { "0" };
                FunctionArg::Unnamed(FunctionArgExpr::Expr(
                    e.unwrap_or_else(|| Expr::value(Value::Number(zero.to_owned(), false))),
                ))
            })
            .collect();
    });
}

/// `GROUP BY ROLLUP (1, 2)` (and CUBE, GROUPING SETS): output positions inside a grouping set
/// name the select list's expressions, as in a plain `GROUP BY 1`; DataFusion resolves
/// positions only at the top level of GROUP BY (Metabase and hand-written subtotal reports
/// use them).
pub(super) fn grouping_set_positions(statement: &mut Statement, _: &Context) {
    use datafusion::sql::sqlparser::ast::GroupByExpr;
    struct Selects;
    impl datafusion::sql::sqlparser::ast::VisitorMut for Selects {
        type Break = ();
        fn pre_visit_query(&mut self, query: &mut Query) -> ControlFlow<()> {
            let SetExpr::Select(select) = query.body.as_mut() else {
                return ControlFlow::Continue(());
            };
            let items: Vec<Option<Expr>> = select
                .projection
                .iter()
                .map(|i| match i {
                    SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. } => {
                        Some(e.clone())
                    }
                    _ => None,
                })
                .collect();
            let GroupByExpr::Expressions(exprs, _) = &mut select.group_by else {
                return ControlFlow::Continue(());
            };
            let resolve = |e: &mut Expr| {
                if let Expr::Value(ValueWithSpan {
                    value: Value::Number(n, _),
                    ..
                }) = e
                    && let Ok(position) = n.parse::<usize>()
                    && let Some(Some(item)) = position.checked_sub(1).and_then(|i| items.get(i))
                {
                    *e = item.clone();
                }
            };
            for e in exprs.iter_mut() {
                if let Expr::Rollup(sets) | Expr::Cube(sets) | Expr::GroupingSets(sets) = e {
                    for set in sets.iter_mut() {
                        set.iter_mut().for_each(resolve);
                    }
                }
            }
            ControlFlow::Continue(())
        }
    }
    let _ = datafusion::sql::sqlparser::ast::VisitMut::visit(statement, &mut Selects);
}

/// `WITH r(n, f) AS (SELECT 1, 1::bigint …)`: the CTE's column names are given to the first
/// select of its body as aliases, which is what the column list means. DataFusion otherwise
/// names the columns from their expressions first, and two that print alike after its
/// coercions (`1` and `1::bigint` in a recursive CTE's anchor) collide.
pub(super) fn cte_column_names(statement: &mut Statement, _: &Context) {
    struct Queries;
    fn first_select(body: &mut SetExpr) -> Option<&mut datafusion::sql::sqlparser::ast::Select> {
        match body {
            SetExpr::Select(select) => Some(select),
            SetExpr::SetOperation { left, .. } => first_select(left),
            SetExpr::Query(q) => first_select(&mut q.body),
            _ => None,
        }
    }
    impl datafusion::sql::sqlparser::ast::VisitorMut for Queries {
        type Break = ();
        fn pre_visit_query(&mut self, query: &mut Query) -> ControlFlow<()> {
            let Some(with) = &mut query.with else {
                return ControlFlow::Continue(());
            };
            for cte in &mut with.cte_tables {
                let names: Vec<Ident> = cte.alias.columns.iter().map(|c| c.name.clone()).collect();
                if names.is_empty() {
                    continue;
                }
                let Some(select) = first_select(&mut cte.query.body) else {
                    continue;
                };
                let plain = select.projection.iter().all(|i| {
                    matches!(
                        i,
                        SelectItem::UnnamedExpr(_) | SelectItem::ExprWithAlias { .. }
                    )
                });
                if !plain || select.projection.len() != names.len() {
                    continue;
                }
                for (item, name) in select.projection.iter_mut().zip(names) {
                    let taken = std::mem::replace(item, SelectItem::Wildcard(Default::default()));
                    *item = match taken {
                        SelectItem::UnnamedExpr(expr) | SelectItem::ExprWithAlias { expr, .. } => {
                            SelectItem::ExprWithAlias { expr, alias: name }
                        }
                        other => other,
                    };
                }
            }
            ControlFlow::Continue(())
        }
    }
    let _ = datafusion::sql::sqlparser::ast::VisitMut::visit(statement, &mut Queries);
}

/// `$n * interval '…'`, `interval '…' * $n` and `interval '…' / $n`: PostgreSQL's operators
/// for an interval and an unknown-typed operand are `interval * float8` and `interval / float8`,
/// so `$n` is a double precision. DataFusion gave `$n` the interval's type and then had no
/// operator for two intervals (Grafana-style `:k * interval '1 hour'` failed to plan).
pub(super) fn interval_factor_parameters(statement: &mut Statement, _: &Context) {
    fn is_interval(e: &Expr) -> bool {
        match e {
            Expr::Interval(_) => true,
            Expr::Cast { data_type, .. }
            | Expr::TypedString(datafusion::sql::sqlparser::ast::TypedString {
                data_type, ..
            }) => {
                matches!(data_type, DataType::Interval { .. })
            }
            Expr::Nested(inner) => is_interval(inner),
            _ => false,
        }
    }
    fn as_double(e: &mut Expr) {
        let placeholder = std::mem::replace(e, Expr::value(Value::Null));
        *e = Expr::Cast {
            kind: CastKind::DoubleColon,
            expr: Box::new(placeholder),
            data_type: DataType::DoublePrecision,
            array: false,
            format: None,
        };
    }
    let is_parameter =
        |e: &Expr| matches!(e, Expr::Value(v) if matches!(v.value, Value::Placeholder(_)));
    each_expr(statement, |expr| {
        let Expr::BinaryOp { left, op, right } = expr else {
            return;
        };
        match op {
            BinaryOperator::Multiply if is_parameter(left) && is_interval(right) => {
                as_double(left);
            }
            BinaryOperator::Multiply | BinaryOperator::Divide
                if is_parameter(right) && is_interval(left) =>
            {
                as_double(right);
            }
            _ => {}
        }
    });
}

/// `timestamp`, `timestamptz` and `timestamp '…'` without a precision are PostgreSQL's
/// microsecond timestamps, not DataFusion's nanosecond ones: a nanosecond value ends in 2262
/// (PostgreSQL's in 294276), and a column (microseconds) compared with a nanosecond value is
/// cast on every row.
///
/// DataFusion's `generate_series` takes nanosecond timestamps only, so the timestamps in its
/// arguments stay nanoseconds (written `timestamp(9)`, DataFusion's own reading of `timestamp`).
pub(super) fn timestamp_precision(statement: &mut Statement, _: &Context) {
    let series = |name: &ObjectName| {
        name.0
            .last()
            .and_then(|p| p.as_ident())
            .is_some_and(|i| i.value.eq_ignore_ascii_case("generate_series"))
    };
    let _ = visit_expressions_mut(statement, |expr: &mut Expr| {
        if let Expr::Function(f) = expr
            && series(&f.name)
        {
            each_timestamp(&mut f.args, 9);
        }
        ControlFlow::<()>::Continue(())
    });
    let mut tables = SeriesTables(&series);
    let _ = datafusion::sql::sqlparser::ast::VisitMut::visit(statement, &mut tables);
    each_timestamp(statement, 6);
}

/// Gives each `timestamp` / `timestamptz` without a precision in `node` the precision `to`.
fn each_timestamp<V: datafusion::sql::sqlparser::ast::VisitMut>(node: &mut V, to: u64) {
    let set = |data_type: &mut DataType| {
        if let DataType::Timestamp(precision @ None, _) = data_type {
            *precision = Some(to);
        }
    };
    let _ = visit_expressions_mut(node, |expr: &mut Expr| {
        match expr {
            Expr::Cast { data_type, .. } => set(data_type),
            Expr::TypedString(typed) => set(&mut typed.data_type),
            _ => {}
        }
        ControlFlow::<()>::Continue(())
    });
}

/// Marks the timestamps in the arguments of `generate_series(…)` in FROM as nanoseconds.
struct SeriesTables<'a>(&'a dyn Fn(&ObjectName) -> bool);

impl datafusion::sql::sqlparser::ast::VisitorMut for SeriesTables<'_> {
    type Break = ();

    fn pre_visit_table_factor(&mut self, factor: &mut TableFactor) -> ControlFlow<()> {
        if let TableFactor::Table {
            name,
            args: Some(args),
            ..
        } = factor
            && (self.0)(name)
        {
            for arg in &mut args.args {
                each_timestamp(arg, 9);
            }
        }
        ControlFlow::Continue(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::applied;
    use super::*;

    #[test]
    fn bare_current_schema_is_the_function_but_a_quoted_name_is_a_column() {
        assert_eq!(
            applied(
                bare_current_schema,
                "SELECT CURRENT_SCHEMA, \"current_schema\" FROM t"
            ),
            "SELECT current_schema(), \"current_schema\" FROM t"
        );
    }

    #[test]
    fn array_constructors_are_make_array_calls() {
        assert_eq!(
            applied(
                array_constructors,
                "SELECT ARRAY[s.n, ARRAY[1]], ARRAY[] FROM s"
            ),
            "SELECT make_array(s.n, make_array(1)), make_array() FROM s"
        );
    }

    #[test]
    fn collations_are_dropped() {
        assert_eq!(
            applied(
                drop_collate,
                "SELECT a COLLATE \"C\" < b, c COLLATE pg_catalog.default"
            ),
            "SELECT a < b, c"
        );
    }

    #[test]
    fn qualified_operators_are_the_operators() {
        assert_eq!(
            applied(
                qualified_operators,
                "SELECT a OPERATOR(pg_catalog.~) '^x$', b OPERATOR(pg_catalog.<@) c"
            ),
            "SELECT a ~ '^x$', b <@ c"
        );
    }

    #[test]
    fn catalog_qualified_functions_and_types_lose_their_schema() {
        assert_eq!(
            applied(
                catalog_qualified_names,
                "SELECT pg_catalog.version(), information_schema._pg_truetypid(a, t), x::pg_catalog.text, other.f()"
            ),
            "SELECT version(), _pg_truetypid(a, t), x::TEXT, other.f()"
        );
    }

    #[test]
    fn like_escapes_other_than_backslash_are_translated() {
        assert_eq!(
            applied(
                like_escape,
                "SELECT a LIKE 'x/_%' ESCAPE '/', b LIKE 'y' ESCAPE '\\'"
            ),
            "SELECT a LIKE __pg_like_escape('x/_%', '/'), b LIKE 'y' ESCAPE '\\'"
        );
    }

    #[test]
    fn array_literals_written_as_text_are_arrays() {
        assert_eq!(
            applied(
                array_literals,
                "SELECT a = ANY('{x,\"y z\",NULL}'), b <> ALL('{1,2}'::oid[]), '{}'::text[], '{a'::text[]"
            ),
            "SELECT a = ANY(ARRAY['x', 'y z', NULL]), b <> ALL(ARRAY['1', '2']::oid[]), ARRAY[]::TEXT[], __pg_array_in('{a')::TEXT[]"
        );
    }

    #[test]
    fn character_casts_keep_n_characters() {
        assert_eq!(
            applied(character_casts, "SELECT a::varchar(3), b::char, c::varchar"),
            "SELECT left(a::TEXT, 3)::TEXT, left(b::TEXT, 1)::TEXT, c::VARCHAR"
        );
    }

    #[test]
    fn substring_from_a_text_pattern_is_a_regex_match() {
        assert_eq!(
            applied(
                substring_patterns,
                "SELECT substring(a FROM '[0-9]+'), substring(a FROM 2), substring(a FROM 2 FOR 3)"
            ),
            "SELECT __pg_substring_regex(a, '[0-9]+'), SUBSTRING(a FROM 2), SUBSTRING(a FROM 2 FOR 3)"
        );
    }

    #[test]
    fn synonyms_and_named_arguments() {
        assert_eq!(
            applied(
                function_synonyms,
                "SELECT ceiling(x), pg_catalog.ceiling(y)"
            ),
            "SELECT ceil(x), pg_catalog.ceiling(y)"
        );
        assert_eq!(
            applied(
                make_interval_arguments,
                "SELECT make_interval(days => 3, secs => 1.5), make_interval(1)"
            ),
            "SELECT make_interval(0, 0, 0, 3, 0, 0, 1.5), make_interval(1, 0, 0, 0, 0, 0, 0.0)"
        );
    }

    #[test]
    fn grouping_set_positions_name_outputs() {
        assert_eq!(
            applied(
                grouping_set_positions,
                "SELECT date_trunc('month', d) AS m, r, count(*) FROM t GROUP BY ROLLUP (1, 2), CUBE ((2)), 1"
            ),
            "SELECT date_trunc('month', d) AS m, r, count(*) FROM t GROUP BY ROLLUP (date_trunc('month', d), r), CUBE (r), 1"
        );
    }

    #[test]
    fn cte_column_names_alias_the_first_select() {
        assert_eq!(
            applied(
                cte_column_names,
                "WITH RECURSIVE r(n, f) AS (SELECT 1, 1::BIGINT UNION ALL SELECT n + 1, f FROM r) SELECT * FROM r"
            ),
            "WITH RECURSIVE r (n, f) AS (SELECT 1 AS n, 1::BIGINT AS f UNION ALL SELECT n + 1, f FROM r) SELECT * FROM r"
        );
    }

    #[test]
    fn composite_fields_are_subscripts() {
        assert_eq!(
            applied(composite_fields, "SELECT (f(x)).n, (t.k).x, t.k"),
            "SELECT (f(x))['n'], (t.k)['x'], t.k"
        );
    }
}
