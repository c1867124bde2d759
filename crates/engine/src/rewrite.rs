//! PostgreSQL name resolution DataFusion lacks, applied to the AST before planning.
//!
//! PostgreSQL searches `pg_catalog` before the search path, so `pg_type` means
//! `pg_catalog.pg_type`, and `pg_catalog.version()` is the same function as `version()`.
//! DataFusion resolves unqualified tables in the default schema only and does not know
//! schema-qualified function names, so both are rewritten here.

use std::ops::ControlFlow;

use datafusion::sql::sqlparser::ast::{
    Expr, Ident, ObjectName, ObjectNamePart, Statement, visit_expressions_mut, visit_relations_mut,
};

use crate::pg_catalog::PG_CATALOG_TABLES;

/// Rewrites `statement` in place (see the module docs).
pub fn resolve_pg_names(statement: &mut Statement) {
    let _ = visit_relations_mut(statement, |name: &mut ObjectName| {
        if let [ObjectNamePart::Identifier(id)] = name.0.as_slice()
            && PG_CATALOG_TABLES.contains(&id.value.to_ascii_lowercase().as_str())
        {
            let table = id.clone();
            name.0 = vec![
                ObjectNamePart::Identifier(Ident::new("pg_catalog")),
                ObjectNamePart::Identifier(table),
            ];
        }
        ControlFlow::<()>::Continue(())
    });
    let _ = visit_expressions_mut(statement, |expr: &mut Expr| {
        if let Expr::Function(f) = expr
            && let [ObjectNamePart::Identifier(schema), last] = f.name.0.as_slice()
            && schema.value.eq_ignore_ascii_case("pg_catalog")
        {
            f.name.0 = vec![last.clone()];
        }
        ControlFlow::<()>::Continue(())
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::sql::sqlparser::dialect::PostgreSqlDialect;
    use datafusion::sql::sqlparser::parser::Parser;

    fn rewritten(sql: &str) -> String {
        let mut stmt = Parser::parse_sql(&PostgreSqlDialect {}, sql)
            .expect("parses")
            .remove(0);
        resolve_pg_names(&mut stmt);
        stmt.to_string()
    }

    #[test]
    fn catalog_tables_and_functions_resolve_like_postgres() {
        assert_eq!(
            rewritten("SELECT pg_catalog.version(), t.oid FROM pg_type t JOIN aws.x ON true"),
            "SELECT version(), t.oid FROM pg_catalog.pg_type t JOIN aws.x ON true"
        );
        assert_eq!(rewritten("SELECT * FROM other"), "SELECT * FROM other");
    }
}
