//! The `reg*` types (`regclass`, `regtype`, `regproc`, `regnamespace`, `regrole`) as
//! functions: a name to its oid and back (`'pg_class'::regclass`, `oid::regtype::text`), an
//! array of oids to names (`proargtypes::regtype[]`), and the `to_reg*` lookups. The rewrite
//! (`rewrite/reg.rs`) turns the casts into calls of these.

use datafusion::arrow::array::Array as _;
use datafusion::arrow::datatypes::DataType;
use datafusion::common::ScalarValue;
use datafusion::error::Result;
use datafusion::logical_expr::ScalarUDF;

use super::system_info::{SessionView, err, oid, sig, text};
use crate::error::EngineError;
use crate::pg_catalog::names;
use crate::row_fn::{RowFn, arg_str, arg_u32};

/// Which `reg*` type a cast names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RegKind {
    /// `regclass`.
    Class,
    /// `regtype`.
    Type,
    /// `regproc` / `regprocedure`.
    Proc,
    /// `regnamespace`.
    Namespace,
    /// `regrole`.
    Role,
}

impl RegKind {
    /// The kind for a type name, if it is a `reg*` type.
    pub fn from_type_name(name: &str) -> Option<RegKind> {
        let bare = name.rsplit('.').next().unwrap_or(name).to_ascii_lowercase();
        Some(match bare.as_str() {
            "regclass" => RegKind::Class,
            "regtype" => RegKind::Type,
            "regproc" | "regprocedure" => RegKind::Proc,
            "regnamespace" => RegKind::Namespace,
            "regrole" => RegKind::Role,
            _ => return None,
        })
    }

    /// The function the rewrite calls for `x::kind` (to an oid) and `x::kind::text`.
    pub fn function_names(self) -> (&'static str, &'static str) {
        match self {
            RegKind::Class => ("__pg_regclass_in", "__pg_regclass_out"),
            RegKind::Type => ("__pg_regtype_in", "__pg_regtype_out"),
            RegKind::Proc => ("__pg_regproc_in", "__pg_regproc_out"),
            RegKind::Namespace => ("__pg_regnamespace_in", "__pg_regnamespace_out"),
            RegKind::Role => ("__pg_regrole_in", "__pg_regrole_out"),
        }
    }

    /// The function that prints an array of oids as this kind's names (`oids::regtype[]`).
    pub fn array_output_name(self) -> &'static str {
        match self {
            RegKind::Class => "__pg_regclass_array_out",
            RegKind::Type => "__pg_regtype_array_out",
            RegKind::Proc => "__pg_regproc_array_out",
            RegKind::Namespace => "__pg_regnamespace_array_out",
            RegKind::Role => "__pg_regrole_array_out",
        }
    }
}

/// Resolves a reg* input: an oid number passes through, a name is looked up.
pub(super) fn reg_in(
    ctx: &SessionView,
    kind: RegKind,
    v: &ScalarValue,
    strict: bool,
) -> Result<ScalarValue> {
    if v.is_null() {
        return Ok(ScalarValue::UInt32(None));
    }
    if let Some(n) = arg_u32(v) {
        return Ok(oid(n));
    }
    let Some(name) = arg_str(v) else {
        return Ok(ScalarValue::UInt32(None));
    };
    let found = match kind {
        RegKind::Class => names().relation_oid(&name, &ctx.search_path()),
        RegKind::Type => names().type_oid(&name),
        RegKind::Proc => names().proc_oid(&name),
        RegKind::Namespace => names().namespace_oid(&name),
        RegKind::Role => ctx.role_oid(&name),
    };
    match (found, strict) {
        (Some(o), _) => Ok(oid(o)),
        (None, false) => Ok(ScalarValue::UInt32(None)),
        (None, true) => Err(err(match kind {
            RegKind::Class => EngineError::UndefinedRelation(name),
            RegKind::Type => {
                EngineError::UndefinedObject(format!("type \"{name}\" does not exist"))
            }
            RegKind::Proc => {
                EngineError::UndefinedFunction(format!("function \"{name}\" does not exist"))
            }
            RegKind::Namespace => EngineError::UndefinedSchema(name),
            RegKind::Role => {
                EngineError::UndefinedObject(format!("role \"{name}\" does not exist"))
            }
        })),
    }
}

fn reg_out(ctx: &SessionView, kind: RegKind, v: &ScalarValue) -> ScalarValue {
    let Some(o) = arg_u32(v) else {
        return ScalarValue::Utf8(None);
    };
    if o == 0 {
        return text("-");
    }
    let name = match kind {
        RegKind::Class => Some(names().relation_text(o, &ctx.search_path())),
        RegKind::Type => names().type_text(o),
        RegKind::Proc => names().proc_text(o),
        RegKind::Namespace => names().namespace_text(o),
        RegKind::Role => ctx.role_name(o),
    };
    text(name.unwrap_or_else(|| o.to_string()))
}

/// The `reg*` functions for one session.
pub(super) fn udfs(ctx: &SessionView) -> Vec<ScalarUDF> {
    let mut out = Vec::new();
    let mut add = |f: RowFn| out.push(ScalarUDF::new_from_impl(f));
    for kind in [
        RegKind::Class,
        RegKind::Type,
        RegKind::Proc,
        RegKind::Namespace,
        RegKind::Role,
    ] {
        let (input, output) = kind.function_names();
        let c = ctx.clone();
        add(RowFn::new(input, sig(&[1]), DataType::UInt32, move |a| {
            reg_in(&c, kind, &a[0], true)
        }));
        let c = ctx.clone();
        add(RowFn::new(output, sig(&[1]), DataType::Utf8, move |a| {
            // `'aws.t'::regclass` printed: a name is looked up (and must exist) first.
            let value = match (arg_u32(&a[0]), arg_str(&a[0])) {
                (None, Some(_)) => reg_in(&c, kind, &a[0], true)?,
                _ => a[0].clone(),
            };
            Ok(reg_out(&c, kind, &value))
        }));
        // `oids::regtype[]`: each element printed as its name (pgcli reads
        // `proargtypes::regtype[]::text[]`).
        let c = ctx.clone();
        add(RowFn::new(
            kind.array_output_name(),
            sig(&[1]),
            DataType::new_list(DataType::Utf8, true),
            move |a| {
                let names: Vec<ScalarValue> = match &a[0] {
                    ScalarValue::List(list) if !list.is_null(0) => {
                        let items = list.value(0);
                        (0..items.len())
                            .map(|i| {
                                let item = ScalarValue::try_from_array(&items, i)?;
                                Ok(reg_out(&c, kind, &item))
                            })
                            .collect::<Result<_>>()?
                    }
                    _ => {
                        return ScalarValue::try_from(DataType::new_list(DataType::Utf8, true));
                    }
                };
                Ok(ScalarValue::List(ScalarValue::new_list_nullable(
                    &names,
                    &DataType::Utf8,
                )))
            },
        ));
    }
    for (name, kind) in [
        ("to_regclass", RegKind::Class),
        ("to_regtype", RegKind::Type),
        ("to_regproc", RegKind::Proc),
        ("to_regnamespace", RegKind::Namespace),
        ("to_regrole", RegKind::Role),
    ] {
        let c = ctx.clone();
        add(RowFn::new(name, sig(&[1]), DataType::UInt32, move |a| {
            reg_in(&c, kind, &a[0], false)
        }));
    }
    out
}
