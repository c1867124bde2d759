//! Forms DataFusion would run with a different meaning than PostgreSQL's. They are refused
//! with 0A000 naming the feature, before planning: an error is better than another answer.
//!
//! - `INTERSECT ALL` / `EXCEPT ALL`: DataFusion plans them as semi/anti joins, which keep every
//!   left duplicate instead of min(m, n) / max(m − n, 0) copies.
//! - `x op ANY (subquery)` / `x op ALL (subquery)` other than `= ANY` and `<> ALL` (which the
//!   rewrite turns into `IN` / `NOT IN`): DataFusion answered `x > ALL (subquery)` with no rows
//!   where PostgreSQL has some.
//! - `char(n)` for n > 1: its blank-padding semantics (padded output, trailing blanks
//!   ignored in comparisons and dropped when used as text) are not modelled; `char` /
//!   `char(1)` and `varchar(n)` are (see the rewrite). A length below 1 or over 10485760 is
//!   22023, as in PostgreSQL.
//! - `ORDER BY` or `LIMIT` on a recursive CTE's query: PostgreSQL does not implement them
//!   ("ORDER BY in a recursive query"); DataFusion sorted each iteration's rows.

use std::ops::ControlFlow;

use datafusion::sql::sqlparser::ast::{
    ArrayElemTypeDef, BinaryOperator, CharacterLength, DataType, ExactNumberInfo, Expr, Ident,
    ObjectName, Query, SetExpr, SetOperator, SetQuantifier, Statement, Visit, Visitor,
};

use crate::error::EngineError;

/// Fails with [`EngineError::Unsupported`] when `statement` uses a form listed above.
pub fn refuse_unfaithful(statement: &Statement) -> Result<(), EngineError> {
    struct Check;
    impl Visitor for Check {
        type Break = EngineError;
        fn pre_visit_query(&mut self, query: &Query) -> ControlFlow<EngineError> {
            if let Some(what) = recursive_order_or_limit(query) {
                return ControlFlow::Break(EngineError::Unsupported(what));
            }
            match set_operation_all(&query.body) {
                Some(what) => ControlFlow::Break(EngineError::Unsupported(what)),
                None => ControlFlow::Continue(()),
            }
        }
        fn pre_visit_expr(&mut self, expr: &Expr) -> ControlFlow<EngineError> {
            if let Expr::Cast { data_type, .. } = expr
                && let Err(e) =
                    character_length(data_type).and_then(|()| float_precision(data_type))
            {
                return ControlFlow::Break(e);
            }
            let what = match expr {
                Expr::AnyOp {
                    compare_op, right, ..
                } if *compare_op != BinaryOperator::Eq
                    && matches!(right.as_ref(), Expr::Subquery(_)) =>
                {
                    format!("{compare_op} ANY (subquery)")
                }
                Expr::AllOp {
                    compare_op, right, ..
                } if *compare_op != BinaryOperator::NotEq
                    && matches!(right.as_ref(), Expr::Subquery(_)) =>
                {
                    format!("{compare_op} ALL (subquery)")
                }
                _ => return ControlFlow::Continue(()),
            };
            ControlFlow::Break(EngineError::Unsupported(what))
        }
    }
    match statement.visit(&mut Check) {
        ControlFlow::Break(e) => Err(e),
        ControlFlow::Continue(()) => Ok(()),
    }
}

/// The precision of `float(p)`, checked as PostgreSQL's grammar does (1 to 53 bits).
fn float_precision(data_type: &DataType) -> Result<(), EngineError> {
    match data_type {
        DataType::Float(ExactNumberInfo::Precision(0)) => Err(EngineError::InvalidArgument(
            "precision for type float must be at least 1 bit".to_owned(),
        )),
        DataType::Float(ExactNumberInfo::Precision(p)) if *p > 53 => {
            Err(EngineError::InvalidArgument(
                "precision for type float must be less than 54 bits".to_owned(),
            ))
        }
        DataType::Array(ArrayElemTypeDef::SquareBracket(element, _)) => float_precision(element),
        _ => Ok(()),
    }
}

/// The length of a character type, checked as PostgreSQL's `anychar_typmodin` does.
fn character_length(data_type: &DataType) -> Result<(), EngineError> {
    let (name, length) = match data_type {
        DataType::Varchar(Some(l)) | DataType::CharacterVarying(Some(l)) => ("varchar", l),
        DataType::Char(Some(l)) | DataType::Character(Some(l)) => ("character", l),
        _ => return Ok(()),
    };
    let CharacterLength::IntegerLength { length, .. } = length else {
        return Err(EngineError::Syntax(format!(
            "invalid length for type {name}"
        )));
    };
    if *length < 1 {
        return Err(EngineError::InvalidArgument(format!(
            "length for type {name} must be at least 1"
        )));
    }
    if *length > 10_485_760 {
        return Err(EngineError::InvalidArgument(format!(
            "length for type {name} cannot exceed 10485760"
        )));
    }
    if name == "character" && *length > 1 {
        return Err(EngineError::Unsupported(format!(
            "type character({length})"
        )));
    }
    Ok(())
}

/// `ORDER BY` / `LIMIT` on the query of a CTE of `query` that refers to itself.
fn recursive_order_or_limit(query: &Query) -> Option<String> {
    let with = query.with.as_ref().filter(|w| w.recursive)?;
    with.cte_tables.iter().find_map(|cte| {
        if !refers_to(&cte.query, &cte.alias.name) {
            return None;
        }
        if cte.query.order_by.is_some() {
            Some("ORDER BY in a recursive query".to_owned())
        } else if cte.query.limit_clause.is_some() || cte.query.fetch.is_some() {
            Some("LIMIT in a recursive query".to_owned())
        } else {
            None
        }
    })
}

/// Whether `query` reads a relation named `name` (unqualified).
fn refers_to(query: &Query, name: &Ident) -> bool {
    struct Find<'a>(&'a Ident);
    impl Visitor for Find<'_> {
        type Break = ();
        fn pre_visit_relation(&mut self, relation: &ObjectName) -> ControlFlow<()> {
            let same = |a: &Ident, b: &Ident| match (a.quote_style, b.quote_style) {
                (None, None) => a.value.eq_ignore_ascii_case(&b.value),
                _ => a.value == b.value,
            };
            match relation.0.as_slice() {
                [part] if part.as_ident().is_some_and(|i| same(i, self.0)) => {
                    ControlFlow::Break(())
                }
                _ => ControlFlow::Continue(()),
            }
        }
    }
    query.visit(&mut Find(name)).is_break()
}

fn set_operation_all(body: &SetExpr) -> Option<String> {
    match body {
        SetExpr::SetOperation {
            op,
            set_quantifier,
            left,
            right,
        } => {
            let all = matches!(
                set_quantifier,
                SetQuantifier::All | SetQuantifier::AllByName
            );
            match op {
                SetOperator::Intersect if all => Some("INTERSECT ALL".to_owned()),
                SetOperator::Except | SetOperator::Minus if all => Some("EXCEPT ALL".to_owned()),
                _ => set_operation_all(left).or_else(|| set_operation_all(right)),
            }
        }
        SetExpr::Query(q) => set_operation_all(&q.body),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::sql::sqlparser::dialect::PostgreSqlDialect;
    use datafusion::sql::sqlparser::parser::Parser;

    fn check(sql: &str) -> Result<(), EngineError> {
        let statement = Parser::parse_sql(&PostgreSqlDialect {}, sql)
            .expect("parses")
            .remove(0);
        refuse_unfaithful(&statement)
    }

    #[test]
    fn intersect_and_except_all_are_refused_anywhere() {
        assert!(check("SELECT 1 INTERSECT ALL SELECT 1").is_err());
        assert!(check("SELECT * FROM (SELECT 1 EXCEPT ALL SELECT 2) t").is_err());
        assert!(
            check("SELECT 1 WHERE 1 IN (SELECT 1 UNION SELECT 2 INTERSECT ALL SELECT 1)").is_err()
        );
        assert!(check("SELECT 1 UNION ALL SELECT 1 INTERSECT SELECT 1 EXCEPT SELECT 2").is_ok());
    }

    #[test]
    fn quantified_subqueries_other_than_in_are_refused() {
        assert!(check("SELECT 1 WHERE 1 > ALL (SELECT 2)").is_err());
        assert!(check("SELECT 1 WHERE 1 <= ANY (SELECT 2)").is_err());
        assert!(check("SELECT 1 WHERE 1 = ANY (SELECT 2)").is_ok());
        assert!(check("SELECT 1 WHERE 1 <> ALL (SELECT 2)").is_ok());
        assert!(check("SELECT 1 WHERE 1 > ALL (ARRAY[1, 2])").is_ok());
    }

    #[test]
    fn character_lengths_are_checked() {
        assert!(matches!(
            check("SELECT 'x'::varchar(0)"),
            Err(EngineError::InvalidArgument(_))
        ));
        assert!(check("SELECT 'x'::varchar(10485761)").is_err());
        assert!(matches!(
            check("SELECT 'x'::char(3)"),
            Err(EngineError::Unsupported(_))
        ));
        assert!(check("SELECT 'x'::varchar(3), 'f'::char, 'f'::char(1)").is_ok());
    }

    #[test]
    fn order_by_and_limit_in_a_recursive_query_are_refused() {
        let recursive =
            "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 3";
        assert!(check(&format!("{recursive} ORDER BY n) SELECT * FROM r")).is_err());
        assert!(check(&format!("{recursive} LIMIT 2) SELECT * FROM r")).is_err());
        assert!(check(&format!("{recursive}) SELECT * FROM r ORDER BY n LIMIT 2")).is_ok());
        // Not recursive (does not read itself): ORDER BY is fine.
        assert!(check("WITH RECURSIVE r AS (SELECT 1 AS n ORDER BY 1) SELECT * FROM r").is_ok());
    }
}
