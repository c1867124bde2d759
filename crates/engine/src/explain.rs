//! `EXPLAIN` as PostgreSQL answers it: one text column `QUERY PLAN`, one row per line, each
//! node as `Name  (cost=start..total rows=n width=w)` with `->` children. Superset's cost
//! estimate, DBeaver and pgAdmin read that shape (Superset parses the first line's `cost=`);
//! DataFusion's own EXPLAIN answered two columns of its plan text.
//!
//! The nodes are DataFusion's physical operators under PostgreSQL's names (a scan is a `Seq
//! Scan`, a hash aggregate a `HashAggregate`); operators PostgreSQL has no node for
//! (projections, repartitioning, batch coalescing) are left out. Row counts are the
//! operators' statistics where known; costs are estimates in PostgreSQL's units of the same
//! order (a page read is 1.0, a row 0.01), not PostgreSQL's planner numbers. `ANALYZE` runs the
//! query and adds each node's actual rows and time.

use std::fmt::Write as _;
use std::sync::Arc;
use std::time::Duration;

use datafusion::arrow::datatypes::{DataType, Schema};
use datafusion::common::stats::Precision;
use datafusion::physical_plan::ExecutionPlan;
use datafusion::sql::sqlparser::ast::{AnalyzeFormatKind, Expr, UtilityOption, Value};

use crate::error::EngineError;

/// What an EXPLAIN asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExplainOptions {
    /// Run the query and show actual rows and times.
    pub analyze: bool,
    /// Show the estimated costs (on unless `COSTS false`).
    pub costs: bool,
}

impl ExplainOptions {
    /// The options of `EXPLAIN [ANALYZE] [VERBOSE] [(option [value], …)]`; a format other
    /// than text is refused with 0A000.
    pub fn parse(
        analyze: bool,
        format: Option<&AnalyzeFormatKind>,
        options: Option<&[UtilityOption]>,
    ) -> Result<ExplainOptions, EngineError> {
        let mut out = ExplainOptions {
            analyze,
            costs: true,
        };
        if let Some(format) = format {
            refuse_format(&format.to_string())?;
        }
        for option in options.unwrap_or_default() {
            let name = option.name.value.to_ascii_lowercase();
            let value = option.arg.as_ref().map(option_text);
            let on = || match value.as_deref().map(str::to_ascii_lowercase).as_deref() {
                None | Some("true" | "on" | "1" | "yes") => Ok(true),
                Some("false" | "off" | "0" | "no") => Ok(false),
                Some(other) => Err(EngineError::InvalidArgument(format!(
                    "{name} requires a Boolean value, not \"{other}\""
                ))),
            };
            match name.as_str() {
                "analyze" => out.analyze = on()?,
                "costs" => out.costs = on()?,
                "verbose" | "buffers" | "timing" | "summary" | "settings" | "wal"
                | "generic_plan" => {
                    on()?;
                }
                "format" => refuse_format(value.as_deref().unwrap_or(""))?,
                other => {
                    return Err(EngineError::Syntax(format!(
                        "unrecognized EXPLAIN option \"{other}\""
                    )));
                }
            }
        }
        Ok(out)
    }
}

fn option_text(e: &Expr) -> String {
    match e {
        Expr::Value(v) => match &v.value {
            Value::SingleQuotedString(s) => s.clone(),
            Value::Boolean(b) => b.to_string(),
            other => other.to_string(),
        },
        Expr::Identifier(id) => id.value.clone(),
        other => other.to_string(),
    }
}

fn refuse_format(format: &str) -> Result<(), EngineError> {
    let format = format.trim().to_ascii_lowercase();
    if format.is_empty() || format == "text" {
        Ok(())
    } else {
        Err(EngineError::Unsupported(format!(
            "EXPLAIN (FORMAT {format})"
        )))
    }
}

/// One node of the plan as shown.
struct Node {
    name: String,
    rows: f64,
    width: usize,
    startup: f64,
    total: f64,
    actual: Option<(usize, Duration)>,
    children: Vec<Node>,
}

/// The lines of the plan; `table_rows` is how many stages the snapshot read holds.
pub fn lines(
    plan: &Arc<dyn ExecutionPlan>,
    options: ExplainOptions,
    table_rows: usize,
) -> Vec<String> {
    let mut out = Vec::new();
    for node in nodes(plan, table_rows) {
        write_node(&node, 0, options, &mut out);
    }
    out
}

/// `plan` as the nodes PostgreSQL would show: an operator with no PostgreSQL counterpart is
/// replaced by its children.
fn nodes(plan: &Arc<dyn ExecutionPlan>, table_rows: usize) -> Vec<Node> {
    let children: Vec<Node> = plan
        .children()
        .into_iter()
        .flat_map(|c| nodes(c, table_rows))
        .collect();
    let Some(name) = pg_name(plan) else {
        return children;
    };
    let input_rows: f64 = children.iter().map(|c| c.rows).sum();
    let stats = datafusion::physical_plan::StatisticsContext::new()
        .compute(
            plan.as_ref(),
            &datafusion::physical_plan::StatisticsArgs::new(),
        )
        .map(|s| s.num_rows);
    let rows = match stats.unwrap_or(Precision::Absent) {
        Precision::Exact(n) | Precision::Inexact(n) => n as f64,
        Precision::Absent if name == "Seq Scan on apigatewayv2_stage" => table_rows as f64,
        Precision::Absent if children.is_empty() => 1.0,
        Precision::Absent => input_rows.max(1.0),
    };
    let below: f64 = children.iter().map(|c| c.total).sum();
    // Reading a row costs 0.01 as in PostgreSQL (cpu_tuple_cost); a blocking node (a sort,
    // an aggregate) starts only after its input is read.
    let blocking = matches!(
        name.as_str(),
        "Sort" | "HashAggregate" | "Aggregate" | "Hash"
    );
    let own = 0.01 * input_rows.max(rows) + if children.is_empty() { 1.0 } else { 0.0 };
    let total = below + own;
    let startup = if blocking { total } else { 0.0 };
    // An operator that keeps no metrics (the stage scan) shows no actual figures.
    let actual = plan.metrics().and_then(|m| {
        Some((
            m.output_rows()?,
            Duration::from_nanos(u64::try_from(m.elapsed_compute()?).unwrap_or(0)),
        ))
    });
    vec![Node {
        name,
        rows,
        width: width(&plan.schema()),
        startup,
        total,
        actual,
        children,
    }]
}

/// PostgreSQL's name for the operator, or `None` for one PostgreSQL would not show.
fn pg_name(plan: &Arc<dyn ExecutionPlan>) -> Option<String> {
    let name = plan.name();
    Some(
        match name {
            "ProjectionExec"
            | "CoalesceBatchesExec"
            | "CoalescePartitionsExec"
            | "RepartitionExec"
            | "SortPreservingMergeExec"
            | "LocalLimitExec"
            | "CooperativeExec"
            | "SubPlansExec" => return None,
            "AggregateExec" => {
                let text = one_line(plan);
                if text.contains("mode=Partial") {
                    return None;
                }
                if text.contains("gby=[]") {
                    "Aggregate"
                } else {
                    "HashAggregate"
                }
            }
            "FilterExec" => "Result",
            _ if name.starts_with("SortExec") => "Sort",
            // A point lookup is an index scan: by the primary key's index for `_key`, by a
            // lookup index of the column otherwise.
            "StageScanExec" => {
                let text = one_line(plan);
                return Some(
                    match text
                        .strip_prefix("StageScanExec: ")
                        .and_then(|rest| rest.split(' ').next())
                    {
                        Some("_key") => {
                            "Index Scan using apigatewayv2_stage_pkey on apigatewayv2_stage"
                                .to_owned()
                        }
                        Some(column) => format!(
                            "Index Scan using apigatewayv2_stage_{column}_lookup on apigatewayv2_stage"
                        ),
                        None => "Seq Scan on apigatewayv2_stage".to_owned(),
                    },
                );
            }
            "GlobalLimitExec" => "Limit",
            "HashJoinExec" => "Hash Join",
            "SortMergeJoinExec" => "Merge Join",
            "NestedLoopJoinExec" | "CrossJoinExec" => "Nested Loop",
            "WindowAggExec" | "BoundedWindowAggExec" => "WindowAgg",
            "UnionExec" | "InterleaveExec" => "Append",
            "UnnestExec" => "ProjectSet",
            "RecursiveQueryExec" => "Recursive Union",
            "WorkTableExec" => "WorkTable Scan",
            "PlaceholderRowExec" | "EmptyExec" => "Result",
            "ValuesExec" => "Values Scan",
            _ if plan.children().is_empty() => "Seq Scan",
            other => return Some(other.trim_end_matches("Exec").to_owned()),
        }
        .to_owned(),
    )
}

fn one_line(plan: &Arc<dyn ExecutionPlan>) -> String {
    datafusion::physical_plan::displayable(plan.as_ref())
        .one_line()
        .to_string()
}

/// About how many bytes a row of `schema` takes, as PostgreSQL's `width`.
fn width(schema: &Schema) -> usize {
    schema
        .fields()
        .iter()
        .map(|f| match f.data_type() {
            DataType::Boolean | DataType::Int8 | DataType::UInt8 => 1,
            DataType::Int16 | DataType::UInt16 => 2,
            DataType::Int32 | DataType::UInt32 | DataType::Float32 | DataType::Date32 => 4,
            DataType::Int64
            | DataType::UInt64
            | DataType::Float64
            | DataType::Timestamp(_, _)
            | DataType::Date64 => 8,
            DataType::Interval(_) | DataType::Decimal128(..) => 16,
            _ => 32,
        })
        .sum()
}

fn write_node(node: &Node, depth: usize, options: ExplainOptions, out: &mut Vec<String>) {
    let mut line = if depth == 0 {
        String::new()
    } else {
        format!("{}->  ", " ".repeat(2 + (depth - 1) * 6))
    };
    line.push_str(&node.name);
    if options.costs {
        let _ = write!(
            line,
            "  (cost={:.2}..{:.2} rows={} width={})",
            node.startup,
            node.total,
            node.rows.round().max(1.0),
            node.width
        );
    }
    if options.analyze
        && let Some((rows, time)) = node.actual
    {
        let ms = time.as_secs_f64() * 1000.0;
        let _ = write!(line, " (actual time=0.000..{ms:.3} rows={rows} loops=1)");
    }
    out.push(line);
    for child in &node.children {
        write_node(child, depth + 1, options, out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_other_than_text_are_refused_and_options_read() {
        assert!(matches!(
            ExplainOptions::parse(false, None, None),
            Ok(ExplainOptions {
                analyze: false,
                costs: true
            })
        ));
        assert!(matches!(
            refuse_format("JSON"),
            Err(EngineError::Unsupported(_))
        ));
        assert!(refuse_format("text").is_ok());
    }

    #[test]
    fn children_are_indented_as_postgres_indents_them() {
        let leaf = Node {
            name: "Seq Scan".into(),
            rows: 50.0,
            width: 32,
            startup: 0.0,
            total: 1.5,
            actual: None,
            children: vec![],
        };
        let sort = Node {
            name: "Sort".into(),
            rows: 50.0,
            width: 32,
            startup: 2.0,
            total: 2.0,
            actual: None,
            children: vec![leaf],
        };
        let mut out = Vec::new();
        let options = ExplainOptions {
            analyze: false,
            costs: true,
        };
        write_node(&sort, 0, options, &mut out);
        assert_eq!(
            out,
            [
                "Sort  (cost=2.00..2.00 rows=50 width=32)",
                "  ->  Seq Scan  (cost=0.00..1.50 rows=50 width=32)"
            ]
        );
    }
}
