//! The system-information functions catalog queries call: privileges, visibility, names of
//! oids (`format_type`, `pg_get_userbyid`, the `reg*` casts), object definitions and
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

use super::row_fn::{RowFn, arg_i64, arg_str, arg_u32};
use crate::error::EngineError;
use crate::pg_catalog::{TABLE_DESCRIPTION, names, quote_ident, split_qualified};
use crate::pg_types::{
    OWNER_OID, STAGE_PKEY_CONSTRAINT_OID, STAGE_PKEY_INDEX_OID, STAGE_TABLE_OID,
};
use crate::settings::Settings;

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
}

/// What the functions need from the session.
#[derive(Clone)]
struct Ctx {
    user: String,
    settings: Arc<RwLock<Settings>>,
}

impl Ctx {
    fn search_path(&self) -> Vec<String> {
        self.settings
            .read()
            .map(|s| s.search_path_schemas())
            .unwrap_or_default()
    }

    fn role_oid(&self, text: &str) -> Option<u32> {
        let parts = split_qualified(text);
        (parts.last().map(String::as_str) == Some(self.user.as_str())
            || text == self.user
            || text.eq_ignore_ascii_case("public"))
        .then_some(OWNER_OID)
    }
}

fn text(v: impl Into<String>) -> ScalarValue {
    ScalarValue::Utf8(Some(v.into()))
}

fn oid(v: u32) -> ScalarValue {
    ScalarValue::UInt32(Some(v))
}

fn boolean(v: bool) -> ScalarValue {
    ScalarValue::Boolean(Some(v))
}

fn err(e: EngineError) -> DataFusionError {
    DataFusionError::External(Box::new(e))
}

/// Resolves a reg* input: an oid number passes through, a name is looked up.
fn reg_in(ctx: &Ctx, kind: RegKind, v: &ScalarValue, strict: bool) -> Result<ScalarValue> {
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

fn reg_out(ctx: &Ctx, kind: RegKind, v: &ScalarValue) -> ScalarValue {
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
        RegKind::Role => (o == OWNER_OID).then(|| ctx.user.clone()),
    };
    text(name.unwrap_or_else(|| o.to_string()))
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

fn relation_of(ctx: &Ctx, object: &ScalarValue) -> Result<Option<u32>> {
    if object.is_null() {
        return Ok(None);
    }
    match reg_in(ctx, RegKind::Class, object, true)? {
        ScalarValue::UInt32(o) => Ok(o),
        _ => Ok(None),
    }
}

fn table_privilege(ctx: &Ctx, args: &[ScalarValue]) -> Result<ScalarValue> {
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

fn index_definition(column: Option<i64>) -> ScalarValue {
    match column {
        None | Some(0) => text(
            "CREATE UNIQUE INDEX apigatewayv2_stage_pkey ON aws.apigatewayv2_stage USING btree (_key)",
        ),
        Some(1) => text("_key"),
        Some(_) => text(""),
    }
}

/// The fields of `_pg_expandarray`'s rows: the element `x` and its position `n`.
fn expand_fields() -> datafusion::arrow::datatypes::Fields {
    datafusion::arrow::datatypes::Fields::from(vec![
        Field::new("x", DataType::Int32, true),
        Field::new("n", DataType::Int32, true),
    ])
}

/// The elements of a list value (none for NULL or a non-list).
fn list_items(v: &ScalarValue) -> Vec<ScalarValue> {
    let array = match v {
        ScalarValue::List(list) if !datafusion::arrow::array::Array::is_null(list.as_ref(), 0) => {
            list.value(0)
        }
        _ => return Vec::new(),
    };
    (0..array.len())
        .filter_map(|i| ScalarValue::try_from_array(&array, i).ok())
        .collect()
}

/// PostgreSQL's `format()`: `%s`, `%I` (identifier), `%L` (literal), `%%`, and `%n$s`.
fn format_sql(fmt: &str, args: &[ScalarValue]) -> Result<String> {
    let mut out = String::new();
    let mut chars = fmt.chars().peekable();
    let mut next = 0usize;
    let bad = |m: &str| err(EngineError::Unsupported(format!("format(): {m}")));
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let mut spec = chars
            .next()
            .ok_or_else(|| bad("unterminated format specifier"))?;
        if spec == '%' {
            out.push('%');
            continue;
        }
        let mut index = None;
        if spec.is_ascii_digit() {
            let mut n = spec.to_digit(10).unwrap_or(0) as usize;
            while let Some(d) = chars.peek().and_then(|d| d.to_digit(10)) {
                n = n * 10 + d as usize;
                chars.next();
            }
            if chars.next() != Some('$') {
                return Err(bad("expected $ after argument position"));
            }
            index = Some(
                n.checked_sub(1)
                    .ok_or_else(|| bad("argument positions start at 1"))?,
            );
            spec = chars
                .next()
                .ok_or_else(|| bad("unterminated format specifier"))?;
        }
        let i = index.unwrap_or(next);
        next = i + 1;
        let arg = args.get(i).ok_or_else(|| bad("too few arguments"))?;
        let value = arg_str(arg);
        match spec {
            's' => out.push_str(value.as_deref().unwrap_or("")),
            'I' => out.push_str(&quote_ident(&value.ok_or_else(|| {
                bad("null values cannot be formatted as an SQL identifier")
            })?)),
            'L' => match value {
                None => out.push_str("NULL"),
                Some(v) => {
                    out.push('\'');
                    out.push_str(&v.replace('\'', "''"));
                    out.push('\'');
                }
            },
            other => {
                return Err(bad(&format!(
                    "unrecognized format() type specifier \"{other}\""
                )));
            }
        }
    }
    Ok(out)
}

/// `json_build_object(k, v, …)` / `json_build_array(v, …)` as JSON text.
fn json_build(args: &[ScalarValue], object: bool) -> Result<String> {
    use serde_json::Value as J;
    let value = |v: &ScalarValue| -> J {
        match v {
            v if v.is_null() => J::Null,
            ScalarValue::Boolean(Some(b)) => J::Bool(*b),
            ScalarValue::Float32(Some(f)) => {
                serde_json::Number::from_f64(f64::from(*f)).map_or(J::Null, J::Number)
            }
            ScalarValue::Float64(Some(f)) => {
                serde_json::Number::from_f64(*f).map_or(J::Null, J::Number)
            }
            other => match arg_i64(other) {
                Some(n)
                    if !matches!(
                        other,
                        ScalarValue::Utf8(_) | ScalarValue::LargeUtf8(_) | ScalarValue::Utf8View(_)
                    ) =>
                {
                    J::from(n)
                }
                _ => J::String(arg_str(other).unwrap_or_default()),
            },
        }
    };
    let json = if object {
        if args.len() % 2 != 0 {
            return Err(err(EngineError::Unsupported(
                "json_build_object with an odd number of arguments".to_owned(),
            )));
        }
        let mut map = serde_json::Map::new();
        for pair in args.chunks(2) {
            map.insert(arg_str(&pair[0]).unwrap_or_default(), value(&pair[1]));
        }
        J::Object(map)
    } else {
        J::Array(args.iter().map(value).collect())
    };
    Ok(json.to_string())
}

/// Rewrites a LIKE pattern that uses `escape` as its escape character (empty: none) into one
/// that uses a backslash.
fn like_with_backslash(pattern: &str, escape: &str) -> String {
    let esc = escape.chars().next();
    let mut out = String::with_capacity(pattern.len());
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        if Some(c) == esc {
            match chars.next() {
                Some(n @ ('%' | '_' | '\\')) => {
                    out.push('\\');
                    out.push(n);
                }
                Some(n) => out.push(n),
                None => {}
            }
        } else if c == '\\' {
            out.push_str("\\\\");
        } else {
            out.push(c);
        }
    }
    out
}

fn size_pretty(bytes: i64) -> String {
    let mut size = bytes as f64;
    if bytes.abs() < 10 * 1024 {
        return format!("{bytes} bytes");
    }
    for unit in ["kB", "MB", "GB", "TB"] {
        size /= 1024.0;
        if size.abs() < 10.0 * 1024.0 || unit == "TB" {
            return format!("{} {unit}", size.round() as i64);
        }
    }
    format!("{bytes} bytes")
}

fn any(n: usize) -> TypeSignature {
    TypeSignature::Any(n)
}

fn sig(arities: &[usize]) -> Signature {
    if arities == [0] {
        return Signature::nullary(Volatility::Stable);
    }
    Signature::one_of(
        arities.iter().map(|n| any(*n)).collect(),
        Volatility::Stable,
    )
}

/// Every catalog function, for one session.
pub fn for_session(user: &str, settings: Arc<RwLock<Settings>>) -> Vec<ScalarUDF> {
    let ctx = Ctx {
        user: user.to_owned(),
        settings,
    };
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
            Ok(reg_out(&c, kind, &a[0]))
        }));
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
                Some(OWNER_OID) => text(c.user.clone()),
                Some(o) => text(format!("unknown (OID={o})")),
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
            let catalog_ok = a
                .get(1)
                .and_then(arg_str)
                .is_none_or(|c| c == "pg_class" || c == "pg_catalog.pg_class");
            Ok(if catalog_ok {
                column_description(arg_u32(&a[0]), Some(0))
            } else {
                ScalarValue::Utf8(None)
            })
        },
    ));
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
    add(RowFn::new(
        "pg_size_pretty",
        sig(&[1]),
        DataType::Utf8,
        |a| {
            Ok(match arg_i64(&a[0]) {
                Some(n) => text(size_pretty(n)),
                None => ScalarValue::Utf8(None),
            })
        },
    ));
    for name in [
        "pg_stat_get_numscans",
        "pg_stat_get_tuples_returned",
        "pg_stat_get_live_tuples",
    ] {
        add(RowFn::new(name, sig(&[1]), DataType::Int64, |_| {
            Ok(ScalarValue::Int64(Some(0)))
        }));
    }
    add(RowFn::new(
        "pg_backend_pid",
        sig(&[0]),
        DataType::Int32,
        |_| Ok(ScalarValue::Int32(i32::try_from(std::process::id()).ok())),
    ));
    add(RowFn::new(
        "pg_is_in_recovery",
        sig(&[0]),
        DataType::Boolean,
        |_| Ok(boolean(false)),
    ));
    add(RowFn::new(
        "pg_relation_is_publishable",
        sig(&[1]),
        DataType::Boolean,
        |a| {
            Ok(if a[0].is_null() {
                ScalarValue::Boolean(None)
            } else {
                boolean(false)
            })
        },
    ));
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
                Some(*super::row_fn::START_MICROS),
                Some("+00:00".into()),
            ))
        },
    ));
    add(RowFn::new(
        "__pg_prefix_elements",
        sig(&[2]),
        DataType::List(Arc::new(Field::new("item", DataType::Utf8, true))),
        |a| {
            let prefix = arg_str(&a[0]).unwrap_or_default();
            let items: Vec<ScalarValue> = match &a[1] {
                ScalarValue::List(list)
                    if !datafusion::arrow::array::Array::is_null(list.as_ref(), 0) =>
                {
                    let values = list.value(0);
                    (0..values.len())
                        .map(|i| {
                            ScalarValue::try_from_array(&values, i).map(|v| match arg_str(&v) {
                                Some(s) => text(format!("{prefix}{s}")),
                                None => ScalarValue::Utf8(None),
                            })
                        })
                        .collect::<Result<_>>()?
                }
                _ => Vec::new(),
            };
            Ok(ScalarValue::List(ScalarValue::new_list_nullable(
                &items,
                &DataType::Utf8,
            )))
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
    add(RowFn::new(
        "__pg_like_escape",
        sig(&[2]),
        DataType::Utf8,
        |a| {
            Ok(match (arg_str(&a[0]), arg_str(&a[1])) {
                (Some(p), Some(e)) => text(like_with_backslash(&p, &e)),
                _ => ScalarValue::Utf8(None),
            })
        },
    ));
    for (name, object) in [("json_build_object", true), ("json_build_array", false)] {
        add(RowFn::new(
            name,
            Signature::one_of(
                vec![TypeSignature::VariadicAny, TypeSignature::Nullary],
                Volatility::Stable,
            ),
            DataType::Utf8,
            move |a| json_build(a, object).map(text),
        ));
    }
    add(RowFn::new(
        "__pg_subscripts",
        sig(&[2]),
        DataType::List(Arc::new(Field::new("item", DataType::Int32, true))),
        |a| {
            let base = arg_i64(&a[1]).unwrap_or(1);
            let len = match &a[0] {
                ScalarValue::List(list)
                    if !datafusion::arrow::array::Array::is_null(list.as_ref(), 0) =>
                {
                    list.value(0).len()
                }
                _ => 0,
            };
            let items: Vec<ScalarValue> = (0..len)
                .map(|i| ScalarValue::Int32(i32::try_from(i as i64 + base).ok()))
                .collect();
            Ok(ScalarValue::List(ScalarValue::new_list_nullable(
                &items,
                &DataType::Int32,
            )))
        },
    ));
    add(RowFn::new(
        "__pg_expandarray",
        sig(&[1]),
        DataType::List(Arc::new(Field::new(
            "item",
            DataType::Struct(expand_fields()),
            true,
        ))),
        |a| {
            let items = list_items(&a[0]);
            let rows: Vec<ScalarValue> = items
                .iter()
                .enumerate()
                .map(|(i, v)| {
                    let x = ScalarValue::Int32(arg_i64(v).and_then(|n| i32::try_from(n).ok()));
                    let n = ScalarValue::Int32(i32::try_from(i as i64 + 1).ok());
                    Ok(ScalarValue::Struct(Arc::new(
                        datafusion::arrow::array::StructArray::try_new(
                            expand_fields(),
                            vec![x.to_array()?, n.to_array()?],
                            None,
                        )?,
                    )))
                })
                .collect::<Result<_>>()?;
            Ok(ScalarValue::List(ScalarValue::new_list_nullable(
                &rows,
                &DataType::Struct(expand_fields()),
            )))
        },
    ));
    for (name, upper) in [("array_lower", false), ("array_upper", true)] {
        // int8 rather than PostgreSQL's int4: DataFusion's generate_series takes int8.
        add(RowFn::new(name, sig(&[2, 3]), DataType::Int64, move |a| {
            let base = a.get(2).and_then(arg_i64).unwrap_or(1);
            let dim = arg_i64(&a[1]).unwrap_or(0);
            let len = match &a[0] {
                v if v.is_null() => return Ok(ScalarValue::Int64(None)),
                _ => list_items(&a[0]).len() as i64,
            };
            if dim != 1 || len == 0 {
                return Ok(ScalarValue::Int64(None));
            }
            Ok(ScalarValue::Int64(Some(if upper {
                base + len - 1
            } else {
                base
            })))
        }));
    }
    add(RowFn::new(
        "format",
        Signature::variadic_any(Volatility::Stable),
        DataType::Utf8,
        |a| {
            let Some(fmt) = arg_str(&a[0]) else {
                return Ok(ScalarValue::Utf8(None));
            };
            format_sql(&fmt, &a[1..]).map(text)
        },
    ));
    add(RowFn::new("quote_ident", sig(&[1]), DataType::Utf8, |a| {
        Ok(match arg_str(&a[0]) {
            Some(s) => text(quote_ident(&s)),
            None => ScalarValue::Utf8(None),
        })
    }));
    add(RowFn::new(
        "parse_ident",
        sig(&[1, 2]),
        DataType::List(Arc::new(Field::new("item", DataType::Utf8, true))),
        |a| {
            Ok(match arg_str(&a[0]) {
                Some(s) => ScalarValue::List(ScalarValue::new_list_nullable(
                    &split_qualified(&s)
                        .into_iter()
                        .map(text)
                        .collect::<Vec<_>>(),
                    &DataType::Utf8,
                )),
                None => ScalarValue::List(ScalarValue::new_list_nullable(&[], &DataType::Utf8)),
            })
        },
    ));
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
            settings.set(&name, &value).map_err(err)?;
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
        assert_eq!(size_pretty(8192), "8192 bytes");
        assert_eq!(
            format_sql(
                "%I.%I %s %L %2$s %%",
                &[text("aws"), text("Stage"), text("it's"), text("it's")]
            )
            .expect("formats"),
            "aws.\"Stage\" it's 'it''s' Stage %"
        );
        assert!(format_sql("%I", &[ScalarValue::Utf8(None)]).is_err());
        assert_eq!(like_with_backslash("pg/_%", "/"), "pg\\_%");
        assert_eq!(like_with_backslash("a\\b//", "/"), "a\\\\b/");
        assert_eq!(like_with_backslash("x%", ""), "x%");
        assert_eq!(size_pretty(20 * 1024), "20 kB");
        assert_eq!(size_pretty(30 * 1024 * 1024), "30 MB");
    }
}
