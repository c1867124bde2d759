//! The rewrite layer: PostgreSQL syntax and semantics DataFusion lacks, applied to the parsed
//! statement before planning, as a list of named rules ([`RULES`]).
//!
//! Each rule is a function over the statement with a doc comment saying what it does, why,
//! and which client needs it, and has tests of its own in its file. Rules run in the order
//! of [`RULES`]; a later rule sees what earlier ones made. A rule must keep the meaning of
//! every query it may touch: what DataFusion cannot run faithfully is refused before the
//! rules run (`refuse.rs`, 0A000), never answered differently.
//!
//! Rules with [`Scope::Catalog`] are meant for the catalog queries clients send and would
//! change the meaning of some user query, so they run only on statements that read catalog
//! relations (`pg_catalog`, `information_schema`) and nothing else.
//!
//! Files: `relations.rs` (names in FROM), `syntax.rs` (spellings), `subquery.rs`,
//! `set_returning.rs`, `set_returning_relations.rs`, `json_aggregates.rs`, `lateral.rs`, `ordered_set.rs`, `primary_key.rs`, `reg.rs` (the `reg*` types), `catalog.rs` (catalog-only rules),
//! `outputs.rs` (output columns), `fetch_first.rs`, `quantified.rs`, and `refuse.rs` (what
//! is refused rather than rewritten).

use std::collections::HashSet;
use std::ops::ControlFlow;

use datafusion::sql::sqlparser::ast::{
    AccessExpr, ArrayElemTypeDef, BinaryOperator, CastKind, CharacterLength, DataType,
    ExactNumberInfo, Expr, Function, FunctionArg, FunctionArgExpr, FunctionArgumentList,
    FunctionArguments, Ident, ObjectName, ObjectNamePart, Query, SelectItem, SetExpr, Statement,
    Subscript, TableFactor, TableWithJoins, Value, ValueWithSpan, VisitMut, VisitorMut,
    visit_expressions_mut,
};

use crate::functions::system_info::RegKind;
use crate::naming::expr_name;
use crate::pg_catalog::{is_empty_relation, is_pg_catalog_relation, names};

mod counted;
mod fetch_first;
mod json_aggregates;
mod lateral;
mod order_by;
mod ordered_set;
mod outputs;
mod pg_catalog_queries;
mod primary_key;
mod quantified;
mod refuse;
mod reg;
mod relations;
mod set_returning;
mod set_returning_relations;
mod subquery;
mod syntax;
mod types;

pub use refuse::refuse_unfaithful;
use relations::*;

/// What a rule may look at besides the statement.
pub(crate) struct Context<'a> {
    /// The session's `search_path`, as schema names.
    pub search_path: &'a [String],
}

/// Which statements a rule applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scope {
    /// Every statement: the rule keeps PostgreSQL's meaning for any query.
    Any,
    /// Only statements that read catalog relations and nothing else.
    Catalog,
}

/// One named rewrite.
pub(crate) struct Rule {
    /// The rule's name, as its function is named.
    pub name: &'static str,
    pub scope: Scope,
    apply: fn(&mut Statement, &Context),
}

macro_rules! rule {
    ($scope:ident, $module:ident :: $function:ident) => {
        Rule {
            name: stringify!($function),
            scope: Scope::$scope,
            apply: $module::$function,
        }
    };
}

/// The rules, in the order they run.
pub(crate) const RULES: &[Rule] = &[
    rule!(Any, relations::resolve_relations),
    rule!(Any, fetch_first::fetch_first),
    rule!(Any, order_by::sort_key_subqueries),
    rule!(Any, order_by::positioned_items),
    rule!(Any, outputs::inner_names),
    rule!(Any, syntax::cte_column_names),
    rule!(Any, syntax::grouping_set_positions),
    rule!(Any, primary_key::grouped_by_primary_key),
    rule!(Any, set_returning_relations::set_returning_relations),
    rule!(Any, lateral::lateral_top_n),
    rule!(Any, relations::table_functions),
    rule!(Any, relations::empty_relations),
    rule!(Any, relations::table_oids),
    rule!(Any, set_returning::set_returning_items),
    rule!(Any, quantified::quantified_subqueries),
    rule!(Any, syntax::drop_collate),
    rule!(Any, syntax::catalog_qualified_names),
    rule!(Any, syntax::function_synonyms),
    rule!(Any, syntax::bare_current_schema),
    rule!(Any, syntax::make_interval_arguments),
    rule!(Any, types::interval_literals),
    rule!(Any, syntax::interval_factor_parameters),
    rule!(Any, syntax::qualified_operators),
    rule!(Any, syntax::like_escape),
    rule!(Any, syntax::array_literals),
    rule!(Any, syntax::substring_patterns),
    rule!(Any, subquery::row_in_subqueries),
    rule!(Any, counted::exists_in_outputs),
    rule!(Any, lateral::scalar_top_one),
    rule!(Any, subquery::scalar_subqueries),
    rule!(Catalog, pg_catalog_queries::outer_conditions),
    rule!(Catalog, pg_catalog_queries::arrays_of_unnest),
    rule!(Any, subquery::array_subqueries),
    rule!(Any, json_aggregates::json_aggregates),
    rule!(Any, ordered_set::ordered_set_aggregates),
    rule!(Any, set_returning::expandarray),
    rule!(Catalog, pg_catalog_queries::vector_subscripts),
    rule!(Any, set_returning::generate_subscripts),
    rule!(Any, syntax::character_casts),
    rule!(Any, types::float_types),
    rule!(Any, syntax::timestamp_precision),
    rule!(Any, reg::reg_casts),
    rule!(Any, syntax::composite_fields),
    rule!(Any, outputs::cast_named_calls),
    rule!(Any, outputs::outputs),
    rule!(Any, outputs::int4_columns),
    rule!(Any, syntax::array_constructors),
];

/// Rewrites `statement` in place: every rule of [`RULES`] whose scope covers it, in order.
pub fn rewrite(statement: &mut Statement, search_path: &[String]) {
    let context = Context { search_path };
    let mut catalog_only = None;
    for rule in RULES {
        if rule.scope == Scope::Catalog
            && !*catalog_only.get_or_insert_with(|| reads_only_catalog(statement))
        {
            continue;
        }
        (rule.apply)(statement, &context);
        tracing::trace!(rule = rule.name, %statement, "rewrite rule applied");
    }
}

/// Whether `statement` reads at least one catalog relation and no other relation (its own
/// CTEs aside). Relation names are resolved by then (`resolve_relations` runs first), so a
/// catalog relation is schema-qualified.
fn reads_only_catalog(statement: &mut Statement) -> bool {
    struct Relations {
        ctes: HashSet<String>,
        catalog: bool,
        other: bool,
    }
    impl VisitorMut for Relations {
        type Break = ();
        fn pre_visit_table_factor(&mut self, t: &mut TableFactor) -> ControlFlow<()> {
            if let TableFactor::Table {
                name, args: None, ..
            } = t
            {
                match name.0.as_slice() {
                    [ObjectNamePart::Identifier(schema), _]
                        if schema.value.eq_ignore_ascii_case("pg_catalog")
                            || schema.value.eq_ignore_ascii_case("information_schema") =>
                    {
                        self.catalog = true;
                    }
                    [ObjectNamePart::Identifier(cte)]
                        if self.ctes.contains(&cte.value.to_ascii_lowercase()) => {}
                    _ => self.other = true,
                }
            }
            ControlFlow::Continue(())
        }
    }
    let mut relations = Relations {
        ctes: cte_names(statement),
        catalog: false,
        other: false,
    };
    let _ = statement.visit(&mut relations);
    relations.catalog && !relations.other
}

/// Applies `f` to every expression of `statement`, innermost first.
fn each_expr(statement: &mut Statement, mut f: impl FnMut(&mut Expr)) {
    let _ = visit_expressions_mut(statement, |expr: &mut Expr| {
        f(expr);
        ControlFlow::<()>::Continue(())
    });
}

/// The conditions of an AND chain (parenthesized ANDs included).
fn conjuncts(expr: Expr) -> Vec<Expr> {
    match expr {
        Expr::BinaryOp {
            left,
            op: BinaryOperator::And,
            right,
        } => {
            let mut out = conjuncts(*left);
            out.extend(conjuncts(*right));
            out
        }
        Expr::Nested(inner)
            if matches!(
                inner.as_ref(),
                Expr::BinaryOp {
                    op: BinaryOperator::And,
                    ..
                }
            ) =>
        {
            conjuncts(*inner)
        }
        other => vec![other],
    }
}

/// The conditions joined with AND; `None` for none.
fn and_all(exprs: Vec<Expr>) -> Option<Expr> {
    exprs.into_iter().reduce(|a, b| Expr::BinaryOp {
        left: Box::new(a),
        op: BinaryOperator::And,
        right: Box::new(b),
    })
}

/// Whether `expr` refers to (inner, outer) columns: `x.col` is inner when `x` is an inner
/// name; an unqualified column counts as inner, as PostgreSQL resolves it there first.
fn refs(expr: &Expr, inner: &HashSet<String>) -> (bool, bool) {
    let (mut i, mut o) = (false, false);
    let _ = datafusion::sql::sqlparser::ast::visit_expressions(expr, |e: &Expr| {
        match e {
            Expr::Identifier(_) => i = true,
            Expr::CompoundIdentifier(ids) if ids.len() >= 2 => {
                let q = ids[ids.len() - 2].value.to_ascii_lowercase();
                if inner.contains(&q) {
                    i = true;
                } else {
                    o = true;
                }
            }
            _ => {}
        }
        ControlFlow::<()>::Continue(())
    });
    (i, o)
}

/// The arguments of a call when every one is a plain positional expression.
fn positional_args(args: &[FunctionArg]) -> Option<Vec<Expr>> {
    args.iter()
        .map(|a| match a {
            FunctionArg::Unnamed(FunctionArgExpr::Expr(e)) => Some(e.clone()),
            _ => None,
        })
        .collect()
}

/// The names (aliases, else table names) a FROM list introduces.
fn inner_names(from: &[TableWithJoins]) -> HashSet<String> {
    let mut out = HashSet::new();
    let mut add = |t: &TableFactor| match t {
        TableFactor::Table { name, alias, .. } => {
            out.insert(match alias {
                Some(a) => a.name.value.to_ascii_lowercase(),
                None => name
                    .0
                    .last()
                    .map(|p| p.to_string().to_ascii_lowercase())
                    .unwrap_or_default(),
            });
        }
        TableFactor::Derived { alias: Some(a), .. }
        | TableFactor::Function { alias: Some(a), .. }
        | TableFactor::UNNEST { alias: Some(a), .. } => {
            out.insert(a.name.value.to_ascii_lowercase());
        }
        _ => {}
    };
    for t in from {
        add(&t.relation);
        for j in &t.joins {
            add(&j.relation);
        }
    }
    out
}

/// `ARRAY['a', 'b', NULL]` for the items of an array literal written as text (`'{a,b,NULL}'`);
/// the comparison or cast around it gives the items their type.
fn text_array(items: Vec<Option<String>>) -> Expr {
    Expr::Array(datafusion::sql::sqlparser::ast::Array {
        elem: items
            .into_iter()
            .map(|i| match i {
                Some(v) => Expr::value(Value::SingleQuotedString(v)),
                None => Expr::value(Value::Null),
            })
            .collect(),
        named: true,
    })
}

/// Appends an argument to a function call expression.
fn push_arg(call: &mut Expr, arg: Expr) {
    if let Expr::Function(f) = call
        && let FunctionArguments::List(list) = &mut f.args
    {
        list.args
            .push(FunctionArg::Unnamed(FunctionArgExpr::Expr(arg)));
    }
}

fn first_arg(f: &Function) -> Option<Expr> {
    match &f.args {
        FunctionArguments::List(list) => match list.args.first() {
            Some(FunctionArg::Unnamed(FunctionArgExpr::Expr(e))) => Some(e.clone()),
            _ => None,
        },
        _ => None,
    }
}

/// The column an expression names (`x`, `t.x`, `s.t.x` → `x`), lower-cased.
fn column_name(e: &Expr) -> Option<String> {
    match e {
        Expr::Identifier(id) => Some(id.value.to_ascii_lowercase()),
        Expr::CompoundIdentifier(ids) => ids.last().map(|i| i.value.to_ascii_lowercase()),
        _ => None,
    }
}

fn single_arg(f: &Function) -> Option<Expr> {
    match &f.args {
        FunctionArguments::List(list) => match list.args.as_slice() {
            [FunctionArg::Unnamed(FunctionArgExpr::Expr(e))] => Some(e.clone()),
            _ => None,
        },
        _ => None,
    }
}

fn call(name: &str, arg: Expr) -> Expr {
    call_with(name, vec![arg])
}

fn call_with(name: &str, args: Vec<Expr>) -> Expr {
    Expr::Function(Function {
        name: ObjectName(vec![ObjectNamePart::Identifier(Ident::new(name))]),
        uses_odbc_syntax: false,
        parameters: FunctionArguments::None,
        args: FunctionArguments::List(FunctionArgumentList {
            duplicate_treatment: None,
            args: args
                .into_iter()
                .map(|a| FunctionArg::Unnamed(FunctionArgExpr::Expr(a)))
                .collect(),
            clauses: Vec::new(),
        }),
        filter: None,
        null_treatment: None,
        over: None,
        within_group: Vec::new(),
    })
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use datafusion::sql::sqlparser::dialect::PostgreSqlDialect;
    use datafusion::sql::sqlparser::parser::Parser;

    fn parse(sql: &str) -> Statement {
        Parser::parse_sql(&PostgreSqlDialect {}, sql)
            .expect("parses")
            .remove(0)
    }

    /// `sql` after one rule alone.
    pub(crate) fn applied(rule: fn(&mut Statement, &Context), sql: &str) -> String {
        let mut stmt = parse(sql);
        rule(
            &mut stmt,
            &Context {
                search_path: &["public".to_owned()],
            },
        );
        stmt.to_string()
    }

    fn rewritten_with(sql: &str, path: &[&str]) -> String {
        let mut stmt = parse(sql);
        let path: Vec<String> = path.iter().map(|s| (*s).to_owned()).collect();
        rewrite(&mut stmt, &path);
        stmt.to_string()
    }

    /// `sql` after every rule.
    pub(crate) fn rewritten(sql: &str) -> String {
        rewritten_with(sql, &["public"])
    }

    #[test]
    fn catalog_tables_and_functions_resolve_like_postgres() {
        assert_eq!(
            rewritten("SELECT pg_catalog.version() AS v, t.oid FROM pg_type t JOIN aws.x ON true"),
            "SELECT version() AS v, t.oid FROM pg_catalog.pg_type t JOIN aws.x ON true"
        );
        assert_eq!(rewritten("SELECT * FROM other"), "SELECT * FROM other");
        assert_eq!(
            rewritten_with("SELECT count(*) FROM apigatewayv2_stage", &["aws"]),
            "SELECT count(*) FROM aws.apigatewayv2_stage"
        );
        assert_eq!(
            rewritten("WITH pg_type AS (SELECT 1) SELECT * FROM pg_type"),
            "WITH pg_type AS (SELECT CAST(1 AS INTEGER) AS \"?column?\") SELECT * FROM pg_type"
        );
    }

    #[test]
    fn rules_compose_in_order() {
        assert_eq!(
            rewritten(
                "SELECT c.relname AS r FROM pg_class c WHERE c.relname OPERATOR(pg_catalog.~) '^(x)$' COLLATE pg_catalog.default AND c.oid = 'pg_class'::regclass"
            ),
            "SELECT c.relname AS r FROM pg_catalog.pg_class c WHERE c.relname ~ '^(x)$' AND c.oid = __pg_regclass_in('pg_class')"
        );
        assert_eq!(
            rewritten(
                "SELECT t.oid::regtype::text AS n, i.indkey[0] AS k FROM pg_type t, pg_index i"
            ),
            "SELECT __pg_regtype_out(t.oid) AS n, i.indkey[((0) + 1)] AS k FROM pg_catalog.pg_type t, pg_catalog.pg_index i"
        );
        assert_eq!(
            rewritten("SELECT c.oid, c.* FROM pg_class c"),
            "SELECT c.oid AS __stagesql_column_0, c.* FROM pg_catalog.pg_class c"
        );
        assert_eq!(
            rewritten("SELECT generate_series(1, 3) FROM t, generate_series(1, 2) g"),
            "SELECT unnest(generate_series(1, 3)) AS generate_series FROM t, generate_series(1, 2) g (g)"
        );
        assert_eq!(
            rewritten("SELECT 1 WHERE a = ANY (SELECT b FROM q) AND c <> ALL (SELECT d FROM q)"),
            "SELECT CAST(1 AS INTEGER) WHERE a IN (SELECT b FROM q) AND c NOT IN (SELECT d FROM q)"
        );
        // psql's `\d` column query: the lookup's outer conditions move out, and the
        // lookups still read PostgreSQL's way.
        assert_eq!(
            rewritten(
                "SELECT (SELECT c.n FROM pg_class c, pg_type t WHERE c.oid = a.x AND t.oid = a.y AND a.x <> t.z AND a.h) AS s FROM pg_attribute a"
            ),
            "SELECT CASE WHEN a.h AND a.x <> (SELECT __pg_scalar_subquery(t.z) FROM pg_catalog.pg_class c, pg_catalog.pg_type t WHERE c.oid = a.x AND t.oid = a.y) THEN (SELECT __pg_scalar_subquery(c.n) FROM pg_catalog.pg_class c, pg_catalog.pg_type t WHERE c.oid = a.x AND t.oid = a.y) END AS s FROM pg_catalog.pg_attribute a"
        );
        assert_eq!(
            rewritten("SELECT x::regclass FROM y"),
            "SELECT __pg_regclass_out(x) FROM y"
        );
        assert_eq!(
            rewritten("SELECT pg_catalog.array_upper(i.indkey, 1) FROM pg_index i"),
            "SELECT array_upper(i.indkey, 1, 0) FROM pg_catalog.pg_index i"
        );
    }

    #[test]
    fn catalog_scope_is_catalog_relations_only() {
        let scope = |sql: &str| {
            let mut stmt = parse(sql);
            relations::resolve_relations(
                &mut stmt,
                &Context {
                    search_path: &["aws".to_owned()],
                },
            );
            reads_only_catalog(&mut stmt)
        };
        assert!(scope(
            "SELECT * FROM pg_class c JOIN pg_namespace n ON true"
        ));
        assert!(scope("WITH t AS (SELECT * FROM pg_index) SELECT * FROM t"));
        assert!(scope(
            "SELECT * FROM information_schema.tables, unnest(ARRAY[1])"
        ));
        assert!(!scope("SELECT 1"));
        assert!(!scope("SELECT * FROM pg_class, apigatewayv2_stage"));
        assert!(!scope(
            "SELECT (SELECT 1 FROM pg_class) FROM aws.apigatewayv2_stage"
        ));
    }

    #[test]
    fn every_rule_is_named_once() {
        let mut names = HashSet::new();
        for rule in RULES {
            assert!(names.insert(rule.name), "{} twice", rule.name);
        }
    }
}
