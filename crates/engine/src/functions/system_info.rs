//! The system-information functions catalog queries call: privileges, visibility, names of
//! oids (`format_type`, `pg_get_userbyid`; the `reg*` casts are in [`super::reg`]), object definitions and
//! comments, sizes, `current_schemas`, `set_config`, and the helpers GUI tools use.
//!
//! They answer for what this server holds: one role that may read everything and change
//! nothing, the stage table with its primary key, and the catalog relations.

use std::sync::{Arc, RwLock};

use datafusion::arrow::datatypes::{DataType, Field, TimeUnit};
use datafusion::common::ScalarValue;
use datafusion::error::{DataFusionError, Result};
use datafusion::logical_expr::{ScalarUDF, Signature, TypeSignature, Volatility};
use stagesql_catalog::COLUMNS;

pub use super::reg::RegKind;
use super::reg::reg_in;
use crate::error::EngineError;
use crate::pg_catalog::{
    EXTENSIONS, PUBLIC_DESCRIPTION, TABLE_DESCRIPTION, names, split_qualified,
};
use crate::pg_types::{
    OWNER_OID, PUBLIC_OID, STAGE_PKEY_CONSTRAINT_OID, STAGE_PKEY_INDEX_OID, STAGE_TABLE_OID,
};
use crate::row_fn::{RowFn, arg_i64, arg_str, arg_u32};
use crate::settings::Settings;

/// What the functions need from the session.
#[derive(Clone)]
pub(super) struct SessionView {
    /// Every role, owner (oid 10) first.
    roles: Arc<Vec<(u32, String)>>,
    settings: Arc<RwLock<Settings>>,
}

impl SessionView {
    pub(super) fn search_path(&self) -> Vec<String> {
        self.settings
            .read()
            .map(|s| s.search_path_schemas())
            .unwrap_or_default()
    }

    pub(super) fn role_oid(&self, text: &str) -> Option<u32> {
        let parts = split_qualified(text);
        if text.eq_ignore_ascii_case("public") {
            return Some(OWNER_OID);
        }
        self.roles
            .iter()
            .find(|(_, name)| parts.last() == Some(name) || text == name)
            .map(|(oid, _)| *oid)
    }

    pub(super) fn role_name(&self, oid: u32) -> Option<String> {
        self.roles
            .iter()
            .find(|(o, _)| *o == oid)
            .map(|(_, name)| name.clone())
            .or_else(|| {
                crate::pg_types::PREDEFINED_ROLES
                    .iter()
                    .find(|(o, _)| *o == oid)
                    .map(|(_, name)| (*name).to_owned())
            })
    }
}

pub(super) fn text(v: impl Into<String>) -> ScalarValue {
    ScalarValue::Utf8(Some(v.into()))
}

pub(super) fn oid(v: u32) -> ScalarValue {
    ScalarValue::UInt32(Some(v))
}

fn boolean(v: bool) -> ScalarValue {
    ScalarValue::Boolean(Some(v))
}

pub(super) fn err(e: EngineError) -> DataFusionError {
    DataFusionError::External(Box::new(e))
}

/// Whether a privilege list (`'SELECT'`, `'select, insert'`, `'USAGE WITH GRANT OPTION'`)
/// asks only for what a read-only role has: any listed privilege held makes it true, as in
/// PostgreSQL.
fn privilege_held(list: &str, held: &[&str]) -> bool {
    list.split(',').any(|p| {
        let p = p.trim().to_ascii_lowercase();
        let p = p
            .strip_suffix(" with grant option")
            .unwrap_or(&p)
            .trim()
            .to_owned();
        held.contains(&p.as_str())
    })
}

/// The (object, privilege) of a `has_*_privilege` call with or without the leading user.
fn object_and_privilege(args: &[ScalarValue], with_user_arity: usize) -> (ScalarValue, String) {
    let offset = usize::from(args.len() == with_user_arity);
    let object = args.get(offset).cloned().unwrap_or(ScalarValue::Null);
    let privilege = args.last().and_then(arg_str).unwrap_or_default();
    (object, privilege)
}

fn relation_of(ctx: &SessionView, object: &ScalarValue) -> Result<Option<u32>> {
    if object.is_null() {
        return Ok(None);
    }
    match reg_in(ctx, RegKind::Class, object, true)? {
        ScalarValue::UInt32(o) => Ok(o),
        _ => Ok(None),
    }
}

fn table_privilege(ctx: &SessionView, args: &[ScalarValue]) -> Result<ScalarValue> {
    let (object, privilege) = object_and_privilege(args, 3);
    Ok(match relation_of(ctx, &object)? {
        Some(_) => boolean(privilege_held(&privilege, &["select"])),
        None => ScalarValue::Boolean(None),
    })
}

fn column_description(o: Option<u32>, column: Option<i64>) -> ScalarValue {
    match (o, column) {
        (Some(STAGE_TABLE_OID), Some(0)) => text(TABLE_DESCRIPTION),
        (Some(STAGE_TABLE_OID), Some(n)) => usize::try_from(n)
            .ok()
            .and_then(|n| n.checked_sub(1))
            .and_then(|i| COLUMNS.get(i))
            .map_or(ScalarValue::Utf8(None), |c| text(c.description)),
        _ => ScalarValue::Utf8(None),
    }
}

/// `obj_description(oid [, catalog])`: the comment on the object `oid` of catalog `catalog`
/// (any catalog when not given): the stage table, `public` and the extensions have one.
fn object_description(o: Option<u32>, catalog: Option<String>) -> ScalarValue {
    let catalog = catalog.map(|c| {
        c.strip_prefix("pg_catalog.")
            .map(str::to_owned)
            .unwrap_or(c)
    });
    let any = catalog.is_none();
    let is = |name: &str| any || catalog.as_deref() == Some(name);
    let Some(o) = o else {
        return ScalarValue::Utf8(None);
    };
    if is("pg_class") && o == STAGE_TABLE_OID {
        return text(TABLE_DESCRIPTION);
    }
    if is("pg_namespace") && o == PUBLIC_OID {
        return text(PUBLIC_DESCRIPTION);
    }
    if is("pg_extension")
        && let Some(e) = EXTENSIONS.iter().find(|e| e.oid == o)
    {
        return text(e.comment);
    }
    ScalarValue::Utf8(None)
}

fn index_definition(column: Option<i64>) -> ScalarValue {
    match column {
        None | Some(0) => text(
            "CREATE UNIQUE INDEX apigatewayv2_stage_pkey ON aws.apigatewayv2_stage USING btree (_key)",
        ),
        Some(1) => text("_key"),
        Some(_) => text(""),
    }
}

fn any(n: usize) -> TypeSignature {
    TypeSignature::Any(n)
}

pub(super) fn sig(arities: &[usize]) -> Signature {
    if arities == [0] {
        return Signature::nullary(Volatility::Stable);
    }
    Signature::one_of(
        arities.iter().map(|n| any(*n)).collect(),
        Volatility::Stable,
    )
}

/// Every system-information function, for one session.
pub fn for_session(
    roles: Arc<Vec<(u32, String)>>,
    settings: Arc<RwLock<Settings>>,
    backend_pid: Arc<std::sync::OnceLock<i32>>,
) -> Vec<ScalarUDF> {
    let ctx = SessionView { roles, settings };
    let mut out = super::reg::udfs(&ctx);
    let functions = [
        names_and_visibility(&ctx),
        privileges(&ctx),
        definitions_and_comments(),
        encodings_and_sizes(),
        server_state(backend_pid),
        search_path_and_settings(&ctx),
    ];
    out.extend(
        functions
            .into_iter()
            .flatten()
            .map(ScalarUDF::new_from_impl),
    );
    out
}

/// Type and role names, and whether objects are visible on the search path.
fn names_and_visibility(ctx: &SessionView) -> Vec<RowFn> {
    let mut out = Vec::new();
    let mut add = |f: RowFn| out.push(f);
    add(RowFn::new(
        "format_type",
        sig(&[1, 2]),
        DataType::Utf8,
        |a| {
            Ok(match arg_u32(&a[0]) {
                None => ScalarValue::Utf8(None),
                Some(o) => text(names().type_text(o).unwrap_or_else(|| "???".to_owned())),
            })
        },
    ));
    let c = ctx.clone();
    add(RowFn::new(
        "pg_get_userbyid",
        sig(&[1]),
        DataType::Utf8,
        move |a| {
            Ok(match arg_u32(&a[0]) {
                None => ScalarValue::Utf8(None),
                Some(o) => text(
                    c.role_name(o)
                        .unwrap_or_else(|| format!("unknown (OID={o})")),
                ),
            })
        },
    ));
    let c = ctx.clone();
    add(RowFn::new(
        "pg_table_is_visible",
        sig(&[1]),
        DataType::Boolean,
        move |a| {
            Ok(match arg_u32(&a[0]) {
                None => ScalarValue::Boolean(None),
                Some(o) => ScalarValue::Boolean(names().relation_visible(o, &c.search_path())),
            })
        },
    ));
    for name in [
        "pg_type_is_visible",
        "pg_function_is_visible",
        "pg_operator_is_visible",
        "pg_collation_is_visible",
        "pg_conversion_is_visible",
        "pg_opclass_is_visible",
    ] {
        add(RowFn::new(name, sig(&[1]), DataType::Boolean, |a| {
            Ok(if a[0].is_null() {
                ScalarValue::Boolean(None)
            } else {
                boolean(true)
            })
        }));
    }
    // No extended statistics object exists; PostgreSQL answers NULL for an OID naming none
    // (psql's `\\dX`).
    add(RowFn::new(
        "pg_statistics_obj_is_visible",
        sig(&[1]),
        DataType::Boolean,
        |_| Ok(ScalarValue::Boolean(None)),
    ));
    out
}

/// `has_*_privilege` and `pg_has_role`: the one role reads everything and changes nothing.
fn privileges(ctx: &SessionView) -> Vec<RowFn> {
    let mut out = Vec::new();
    let mut add = |f: RowFn| out.push(f);
    let c = ctx.clone();
    add(RowFn::new(
        "has_table_privilege",
        sig(&[2, 3]),
        DataType::Boolean,
        move |a| table_privilege(&c, a),
    ));
    let c = ctx.clone();
    add(RowFn::new(
        "has_any_column_privilege",
        sig(&[2, 3]),
        DataType::Boolean,
        move |a| table_privilege(&c, a),
    ));
    let c = ctx.clone();
    add(RowFn::new(
        "has_column_privilege",
        sig(&[3, 4]),
        DataType::Boolean,
        move |a| {
            let offset = usize::from(a.len() == 4);
            let object = a[offset].clone();
            let privilege = a.last().and_then(arg_str).unwrap_or_default();
            Ok(match relation_of(&c, &object)? {
                Some(_) => boolean(privilege_held(&privilege, &["select"])),
                None => ScalarValue::Boolean(None),
            })
        },
    ));
    add(RowFn::new(
        "has_schema_privilege",
        sig(&[2, 3]),
        DataType::Boolean,
        |a| {
            let (object, privilege) = object_and_privilege(a, 3);
            if object.is_null() {
                return Ok(ScalarValue::Boolean(None));
            }
            let known = match arg_u32(&object) {
                Some(o) => names().namespace_text(o).is_some(),
                None => arg_str(&object).is_some_and(|s| names().has_namespace(&s)),
            };
            if !known {
                return Err(err(EngineError::UndefinedSchema(
                    arg_str(&object).unwrap_or_default(),
                )));
            }
            Ok(boolean(privilege_held(&privilege, &["usage"])))
        },
    ));
    add(RowFn::new(
        "has_database_privilege",
        sig(&[2, 3]),
        DataType::Boolean,
        |a| {
            let (_, privilege) = object_and_privilege(a, 3);
            Ok(boolean(privilege_held(&privilege, &["connect"])))
        },
    ));
    for name in [
        "has_function_privilege",
        "has_type_privilege",
        "has_sequence_privilege",
        "has_foreign_data_wrapper_privilege",
        "has_server_privilege",
        "has_tablespace_privilege",
        "has_language_privilege",
    ] {
        add(RowFn::new(name, sig(&[2, 3]), DataType::Boolean, |a| {
            let (_, privilege) = object_and_privilege(a, 3);
            Ok(boolean(privilege_held(&privilege, &["usage", "execute"])))
        }));
    }
    let c = ctx.clone();
    add(RowFn::new(
        "pg_has_role",
        sig(&[2, 3]),
        DataType::Boolean,
        move |a| {
            let role = &a[a.len() - 2];
            let member = match arg_u32(role) {
                Some(o) => o == OWNER_OID,
                None => arg_str(role).is_some_and(|r| c.role_oid(&r).is_some()),
            };
            Ok(boolean(member))
        },
    ));
    out
}

/// Object definitions (`pg_get_*def`) and comments (`col_description`, `obj_description`).
fn definitions_and_comments() -> Vec<RowFn> {
    let mut out = Vec::new();
    let mut add = |f: RowFn| out.push(f);
    add(RowFn::new(
        "pg_get_expr",
        sig(&[2, 3]),
        DataType::Utf8,
        |_| {
            // No column defaults, index predicates or partition bounds exist here.
            Ok(ScalarValue::Utf8(None))
        },
    ));
    add(RowFn::new(
        "pg_get_constraintdef",
        sig(&[1, 2]),
        DataType::Utf8,
        |a| {
            Ok(match arg_u32(&a[0]) {
                Some(STAGE_PKEY_CONSTRAINT_OID) => text("PRIMARY KEY (_key)"),
                _ => ScalarValue::Utf8(None),
            })
        },
    ));
    add(RowFn::new(
        "pg_get_indexdef",
        sig(&[1, 3]),
        DataType::Utf8,
        |a| {
            Ok(match arg_u32(&a[0]) {
                Some(STAGE_PKEY_INDEX_OID) => index_definition(a.get(1).and_then(arg_i64)),
                _ => ScalarValue::Utf8(None),
            })
        },
    ));
    for (name, arities) in [
        ("pg_get_partkeydef", &[1][..]),
        ("pg_get_viewdef", &[1, 2][..]),
        ("pg_get_function_result", &[1][..]),
        ("pg_get_function_arguments", &[1][..]),
        ("pg_get_function_identity_arguments", &[1][..]),
        ("pg_get_triggerdef", &[1, 2][..]),
        ("pg_get_ruledef", &[1, 2][..]),
        ("pg_get_serial_sequence", &[2][..]),
        ("pg_get_statisticsobjdef_columns", &[1][..]),
        ("shobj_description", &[2][..]),
    ] {
        add(RowFn::new(name, sig(arities), DataType::Utf8, |_| {
            Ok(ScalarValue::Utf8(None))
        }));
    }
    add(RowFn::new(
        "col_description",
        sig(&[2]),
        DataType::Utf8,
        |a| Ok(column_description(arg_u32(&a[0]), arg_i64(&a[1]))),
    ));
    add(RowFn::new(
        "obj_description",
        sig(&[1, 2]),
        DataType::Utf8,
        |a| {
            Ok(object_description(
                arg_u32(&a[0]),
                a.get(1).and_then(arg_str),
            ))
        },
    ));
    out
}

/// Encoding names and numbers, relation sizes and scan statistics.
fn encodings_and_sizes() -> Vec<RowFn> {
    let mut out = Vec::new();
    let mut add = |f: RowFn| out.push(f);
    add(RowFn::new(
        "pg_encoding_to_char",
        sig(&[1]),
        DataType::Utf8,
        |a| {
            Ok(match arg_i64(&a[0]) {
                Some(6) => text("UTF8"),
                Some(0) => text("SQL_ASCII"),
                Some(_) => text(""),
                None => ScalarValue::Utf8(None),
            })
        },
    ));
    add(RowFn::new(
        "pg_char_to_encoding",
        sig(&[1]),
        DataType::Int32,
        |a| {
            Ok(ScalarValue::Int32(Some(
                match arg_str(&a[0])
                    .unwrap_or_default()
                    .to_ascii_uppercase()
                    .as_str()
                {
                    "UTF8" | "UTF-8" | "UNICODE" => 6,
                    "SQL_ASCII" => 0,
                    _ => -1,
                },
            )))
        },
    ));
    for name in [
        "pg_relation_size",
        "pg_total_relation_size",
        "pg_table_size",
        "pg_indexes_size",
        "pg_database_size",
    ] {
        // Nothing is stored on disk; the catalog is in memory and the table is a snapshot.
        add(RowFn::new(name, sig(&[1, 2]), DataType::Int64, |a| {
            Ok(if a[0].is_null() {
                ScalarValue::Int64(None)
            } else {
                ScalarValue::Int64(Some(0))
            })
        }));
    }
    for name in [
        "pg_stat_get_numscans",
        "pg_stat_get_tuples_returned",
        "pg_stat_get_live_tuples",
    ] {
        add(RowFn::new(name, sig(&[1]), DataType::Int64, |_| {
            Ok(ScalarValue::Int64(Some(0)))
        }));
    }
    out
}

/// The server's own state: the backend pid, recovery, start time, locks, tablespaces.
fn server_state(backend_pid: Arc<std::sync::OnceLock<i32>>) -> Vec<RowFn> {
    let mut out = Vec::new();
    let mut add = |f: RowFn| out.push(f);
    add(RowFn::new(
        "pg_backend_pid",
        sig(&[0]),
        DataType::Int32,
        // The pid the client got in BackendKeyData (and sends in a CancelRequest).
        move |_| Ok(ScalarValue::Int32(backend_pid.get().copied())),
    ));
    add(RowFn::new(
        "pg_is_in_recovery",
        sig(&[0]),
        DataType::Boolean,
        |_| Ok(boolean(false)),
    ));
    // False for any object (NULL for NULL): nothing here is publishable, and no session has
    // temporary schemas (dbt's catalog query asks pg_is_other_temp_schema).
    for name in ["pg_relation_is_publishable", "pg_is_other_temp_schema"] {
        add(RowFn::new(name, sig(&[1]), DataType::Boolean, |a| {
            Ok(if a[0].is_null() {
                ScalarValue::Boolean(None)
            } else {
                boolean(false)
            })
        }));
    }
    add(RowFn::new(
        "pg_advisory_unlock_all",
        sig(&[0]),
        DataType::Utf8,
        |_| {
            // No advisory locks can be taken here; PostgreSQL returns void.
            Ok(text(""))
        },
    ));
    add(RowFn::new(
        "pg_postmaster_start_time",
        sig(&[0]),
        DataType::Timestamp(TimeUnit::Microsecond, Some("+00:00".into())),
        |_| {
            Ok(ScalarValue::TimestampMicrosecond(
                Some(*crate::row_fn::START_MICROS),
                Some("+00:00".into()),
            ))
        },
    ));
    add(RowFn::new(
        "pg_tablespace_location",
        sig(&[1]),
        DataType::Utf8,
        |a| {
            Ok(if a[0].is_null() {
                ScalarValue::Utf8(None)
            } else {
                text("")
            })
        },
    ));
    out
}

/// `current_schemas`, `current_schema` and `set_config`, which read and write the session's settings.
fn search_path_and_settings(ctx: &SessionView) -> Vec<RowFn> {
    let mut out = Vec::new();
    let mut add = |f: RowFn| out.push(f);
    let c = ctx.clone();
    add(RowFn::new(
        "current_schemas",
        sig(&[1]),
        DataType::List(Arc::new(Field::new("item", DataType::Utf8, true))),
        move |a| {
            let implicit = matches!(a[0], ScalarValue::Boolean(Some(true)));
            let mut schemas: Vec<ScalarValue> = Vec::new();
            if implicit {
                schemas.push(text("pg_catalog"));
            }
            for s in c.search_path() {
                if names().has_namespace(&s) && !(implicit && s == "pg_catalog") {
                    schemas.push(text(s));
                }
            }
            Ok(ScalarValue::List(ScalarValue::new_list_nullable(
                &schemas,
                &DataType::Utf8,
            )))
        },
    ));
    let c = ctx.clone();
    add(RowFn::new(
        "current_schema",
        sig(&[0]),
        DataType::Utf8,
        move |_| {
            Ok(c.search_path()
                .into_iter()
                .find(|s| names().has_namespace(s))
                .map_or(ScalarValue::Utf8(None), text))
        },
    ));
    let c = ctx.clone();
    add(RowFn::new(
        "set_config",
        sig(&[3]),
        DataType::Utf8,
        move |a| {
            let name = arg_str(&a[0]).unwrap_or_default();
            let value = arg_str(&a[1]).unwrap_or_default();
            let mut settings = c
                .settings
                .write()
                .map_err(|_| DataFusionError::Internal("settings lock poisoned".to_owned()))?;
            // `is_local`: until the transaction ends, as `SET LOCAL`.
            if matches!(a[2], ScalarValue::Boolean(Some(true))) {
                settings.set_local(&name, &value).map_err(err)?;
            } else {
                settings.set(&name, &value).map_err(err)?;
            }
            let (_, now) = settings.get(&name).map_err(err)?;
            Ok(text(now))
        },
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn privileges_and_sizes() {
        assert!(privilege_held("SELECT", &["select"]));
        assert!(privilege_held(
            "insert, select with grant option",
            &["select"]
        ));
        assert!(!privilege_held("delete", &["select"]));
    }
}
