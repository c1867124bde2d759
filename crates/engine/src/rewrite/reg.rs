//! The `reg*` types (`regclass`, `regtype`, `regproc`, `regnamespace`, `regrole`), which
//! PostgreSQL's catalog queries use to turn names into oids and back.

#[allow(unused_imports)]
use super::*;

/// Casts to a `reg*` type become lookups, as PostgreSQL's input functions are:
/// `'pg_class'::regclass` is the oid 1259 where it is compared or joined, and
/// `oid::regtype::text` is the name (psql's `\d`, pgjdbc's type loading, SQLAlchemy's
/// reflection). Casts are rewritten inside-out, so `x::regtype::text` arrives with its inner
/// cast already turned into the `_in` call.
pub(super) fn reg_casts(statement: &mut Statement, _: &Context) {
    each_expr(statement, |expr| {
        let Expr::Cast {
            expr: inner,
            data_type,
            ..
        } = expr
        else {
            return;
        };
        if let Some(kind) = reg_kind(data_type) {
            let arg = std::mem::replace(inner.as_mut(), Expr::value(Value::Null));
            *expr = call(kind.function_names().0, arg);
        } else if let DataType::Array(
            ArrayElemTypeDef::SquareBracket(element, _) | ArrayElemTypeDef::AngleBracket(element),
        ) = data_type
            && let Some(kind) = reg_kind(element)
        {
            // An array of oids as a `reg*[]`: its elements' names, which is what every
            // client does with one (`::text[]`, printing it).
            let arg = std::mem::replace(inner.as_mut(), Expr::value(Value::Null));
            *expr = call(kind.array_output_name(), arg);
        } else if is_text_type(data_type)
            && let Expr::Cast {
                expr: reg_arg,
                data_type: reg_type,
                ..
            } = inner.as_mut()
            && let Some(kind) = reg_kind(reg_type)
        {
            let arg = std::mem::replace(reg_arg.as_mut(), Expr::value(Value::Null));
            *expr = call(kind.function_names().1, arg);
        } else if is_text_type(data_type)
            && let Expr::Function(f) = inner.as_mut()
            && let Some(kind) = reg_in_function(f)
            && let Some(arg) = single_arg(f)
        {
            *expr = call(kind.function_names().1, arg);
        }
    });
}

fn reg_kind(data_type: &DataType) -> Option<RegKind> {
    match data_type {
        DataType::Regclass => Some(RegKind::Class),
        DataType::Custom(name, _) => RegKind::from_type_name(&name.to_string()),
        _ => None,
    }
}

/// The `reg*` kind whose input function `f` calls, if any.
pub(super) fn reg_in_function(f: &Function) -> Option<RegKind> {
    let name = f.name.to_string();
    [
        RegKind::Class,
        RegKind::Type,
        RegKind::Proc,
        RegKind::Namespace,
        RegKind::Role,
    ]
    .into_iter()
    .find(|k| k.function_names().0 == name)
}

fn is_text_type(data_type: &DataType) -> bool {
    match data_type {
        DataType::Text | DataType::Varchar(_) | DataType::CharacterVarying(_) => true,
        DataType::Custom(name, _) => {
            let n = name.to_string().to_ascii_lowercase();
            n == "name" || n == "pg_catalog.name" || n == "pg_catalog.text"
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::applied;
    use super::*;

    #[test]
    fn reg_casts_are_lookups() {
        assert_eq!(
            applied(
                reg_casts,
                "SELECT c.oid = 'pg_class'::regclass, t.oid::regtype::text, n::regnamespace, x::int, p.proargtypes::regtype[]::text[]"
            ),
            "SELECT c.oid = __pg_regclass_in('pg_class'), __pg_regtype_out(t.oid), __pg_regnamespace_in(n), x::INT, __pg_regtype_array_out(p.proargtypes)::TEXT[]"
        );
    }
}
