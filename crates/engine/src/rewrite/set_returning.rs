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
    srf(
        "pg_partition_ancestors",
        &["__pg_partition_ancestors"],
        &[],
        None,
        None,
    ),
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
}
