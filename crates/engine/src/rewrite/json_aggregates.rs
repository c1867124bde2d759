//! The JSON aggregates, which DataFusion lacks, as `array_agg` of JSON texts.

#[allow(unused_imports)]
use super::*;

/// `json_agg(x …)` is `__pg_json_agg(array_agg(to_json(x) …))`, `jsonb_agg` likewise with
/// `to_jsonb`, and `json_object_agg(k, v …)` is
/// `__pg_json_object_agg(array_agg(named_struct('k', k, 'v', to_json(v)) …))`: each value is
/// written as JSON where its type is still known, the aggregate's ORDER BY, FILTER and OVER
/// stay on `array_agg`, and the finishing function joins the texts with PostgreSQL's spacing
/// (`functions/to_json.rs`). An empty group is NULL, as in PostgreSQL. `DISTINCT` would
/// compare JSON texts rather than values (`1.0` and `1.00` are one value), so it is left
/// as written and refused. Reports that hand rows to an application use these.
pub(super) fn json_aggregates(statement: &mut Statement, _: &Context) {
    each_expr(statement, |expr| {
        let Expr::Function(f) = expr else {
            return;
        };
        let name = f.name.to_string().to_ascii_lowercase();
        let (finish, to_json, pairs) = match name.as_str() {
            "json_agg" => ("__pg_json_agg", "to_json", false),
            "jsonb_agg" => ("__pg_jsonb_agg", "to_jsonb", false),
            "json_object_agg" => ("__pg_json_object_agg", "to_json", true),
            "jsonb_object_agg" => ("__pg_jsonb_object_agg", "to_jsonb", true),
            _ => return,
        };
        let FunctionArguments::List(list) = &mut f.args else {
            return;
        };
        if list.duplicate_treatment.is_some() {
            return;
        }
        let Some(args) = positional_args(&list.args) else {
            return;
        };
        let item = match (pairs, args.as_slice()) {
            (false, [x]) => call(to_json, x.clone()),
            (true, [k, v]) => call_with(
                "named_struct",
                vec![
                    Expr::value(Value::SingleQuotedString("k".to_owned())),
                    k.clone(),
                    Expr::value(Value::SingleQuotedString("v".to_owned())),
                    call(to_json, v.clone()),
                ],
            ),
            _ => return,
        };
        list.args = vec![FunctionArg::Unnamed(FunctionArgExpr::Expr(item))];
        f.name = ObjectName(vec![ObjectNamePart::Identifier(Ident::new("array_agg"))]);
        let aggregated = std::mem::replace(expr, Expr::value(Value::Null));
        *expr = call(finish, aggregated);
    });
}

#[cfg(test)]
mod tests {
    use super::super::tests::applied;
    use super::*;

    #[test]
    fn json_aggregates_are_array_agg_of_json() {
        assert_eq!(
            applied(
                json_aggregates,
                "SELECT json_agg(x ORDER BY y) FILTER (WHERE z), jsonb_agg(x), json_object_agg(k, v) OVER (PARTITION BY p)"
            ),
            "SELECT __pg_json_agg(array_agg(to_json(x) ORDER BY y) FILTER (WHERE z)), __pg_jsonb_agg(array_agg(to_jsonb(x))), __pg_json_object_agg(array_agg(named_struct('k', k, 'v', to_json(v))) OVER (PARTITION BY p))"
        );
        assert_eq!(
            applied(json_aggregates, "SELECT json_agg(DISTINCT x)"),
            "SELECT json_agg(DISTINCT x)"
        );
    }
}
