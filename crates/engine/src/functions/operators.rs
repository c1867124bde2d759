//! The hstore and json functions as DataFusion scalar UDFs.
//!
//! One struct, [`PgFunction`], serves every function here; its [`Kind`] says what to compute.
//! All are strict (NULL in, NULL out) and immutable.

use std::sync::Arc;

use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, BooleanBuilder, Int64Builder, ListBuilder, StringArray, StringBuilder,
};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Field, FieldRef};
use datafusion::error::{DataFusionError, Result};
use datafusion::logical_expr::{
    ColumnarValue, ReturnFieldArgs, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature,
    Volatility,
};
use serde_json::Value;

use super::hstore::{self, Hstore, parse_hstore};
use super::json::{self, Step};
use crate::error::EngineError;
use crate::schema::json_field;

/// What a [`PgFunction`] computes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// `h -> key`: the value or NULL; `h -> keys[]`: the values, an array.
    HstoreFetch,
    /// Text read as an hstore (`'a=>1'::hstore`): parsed, then written as hstore writes it.
    HstoreIn,
    /// `h || other`: the pairs of both, `other`'s value winning.
    HstoreConcat,
    /// `h - key`, `h - keys[]`, `delete(h, key)`: without those keys.
    HstoreDelete,
    /// `h ? key`, `exist(h, key)`.
    HstoreExist,
    /// `h ?| keys`: any key present.
    HstoreExistAny,
    /// `h ?& keys`: every key present.
    HstoreExistAll,
    /// `defined(h, key)`: present with a non-NULL value.
    HstoreDefined,
    /// `h @> other`.
    HstoreContains,
    /// `h <@ other`.
    HstoreContained,
    /// `akeys(h)`.
    Akeys,
    /// `avals(h)`.
    Avals,
    /// `hstore_to_json(h)`.
    HstoreToJson,
    /// `hstore(key, value)`, `hstore(keys[], values[])`: an hstore of those pairs.
    HstoreBuild,
    /// `j -> key|index`: json.
    JsonGet,
    /// `j ->> key|index`: text.
    JsonGetText,
    /// `json_extract_path(j, VARIADIC path)`, `j #> path`: json.
    JsonPath,
    /// `json_extract_path_text(j, VARIADIC path)`, `j #>> path`: text.
    JsonPathText,
    /// `json_typeof(j)`.
    JsonTypeof,
    /// `json_array_length(j)`.
    JsonArrayLength,
}

/// A PostgreSQL hstore/json function.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct PgFunction {
    name: &'static str,
    aliases: Vec<String>,
    kind: Kind,
    signature: Signature,
}

impl PgFunction {
    fn new(name: &'static str, aliases: &[&str], kind: Kind, signature: Signature) -> Self {
        PgFunction {
            name,
            aliases: aliases.iter().map(|a| (*a).to_owned()).collect(),
            kind,
            signature,
        }
    }
}

/// The hstore input function (`'…'::hstore`), for the cast rule in [`crate::semantics`].
pub fn hstore_in() -> ScalarUDF {
    all()
        .into_iter()
        .find(|f| f.name() == "__pg_hstore_in")
        .expect("the hstore input function is in the list below")
}

/// Every hstore and json function, ready to register.
pub fn all() -> Vec<ScalarUDF> {
    let imm = Volatility::Immutable;
    let two = || Signature::any(2, imm);
    let one = || Signature::any(1, imm);
    let variadic = || Signature::variadic_any(imm);
    [
        PgFunction::new("hstore_fetchval", &["fetchval"], Kind::HstoreFetch, two()),
        PgFunction::new("__pg_hstore_in", &[], Kind::HstoreIn, one()),
        PgFunction::new("hs_concat", &[], Kind::HstoreConcat, two()),
        PgFunction::new("hstore", &[], Kind::HstoreBuild, two()),
        PgFunction::new("delete", &["hstore_delete"], Kind::HstoreDelete, two()),
        PgFunction::new("exist", &["hstore_exist"], Kind::HstoreExist, two()),
        PgFunction::new("exists_any", &[], Kind::HstoreExistAny, two()),
        PgFunction::new("exists_all", &[], Kind::HstoreExistAll, two()),
        PgFunction::new("defined", &["hstore_defined"], Kind::HstoreDefined, two()),
        PgFunction::new(
            "hs_contains",
            &["hstore_contains"],
            Kind::HstoreContains,
            two(),
        ),
        PgFunction::new(
            "hs_contained",
            &["hstore_contained"],
            Kind::HstoreContained,
            two(),
        ),
        PgFunction::new("akeys", &[], Kind::Akeys, one()),
        PgFunction::new("avals", &[], Kind::Avals, one()),
        PgFunction::new(
            "hstore_to_json",
            &["hstore_to_jsonb"],
            Kind::HstoreToJson,
            one(),
        ),
        PgFunction::new("json_get", &["jsonb_get"], Kind::JsonGet, two()),
        PgFunction::new(
            "json_get_text",
            &["jsonb_get_text"],
            Kind::JsonGetText,
            two(),
        ),
        PgFunction::new(
            "json_extract_path",
            &["jsonb_extract_path"],
            Kind::JsonPath,
            variadic(),
        ),
        PgFunction::new(
            "json_extract_path_text",
            &["jsonb_extract_path_text"],
            Kind::JsonPathText,
            variadic(),
        ),
        PgFunction::new("json_typeof", &["jsonb_typeof"], Kind::JsonTypeof, one()),
        PgFunction::new(
            "json_array_length",
            &["jsonb_array_length"],
            Kind::JsonArrayLength,
            one(),
        ),
    ]
    .into_iter()
    .map(ScalarUDF::new_from_impl)
    .collect()
}

fn text_list_type() -> DataType {
    DataType::new_list(DataType::Utf8, true)
}

impl ScalarUDFImpl for PgFunction {
    fn name(&self) -> &str {
        self.name
    }

    fn aliases(&self) -> &[String] {
        &self.aliases
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        Ok(match self.kind {
            Kind::HstoreFetch if arg_types.get(1).is_some_and(is_list) => text_list_type(),
            Kind::HstoreExist
            | Kind::HstoreExistAny
            | Kind::HstoreExistAll
            | Kind::HstoreDefined
            | Kind::HstoreContains
            | Kind::HstoreContained => DataType::Boolean,
            Kind::Akeys | Kind::Avals => text_list_type(),
            Kind::JsonArrayLength => DataType::Int64,
            Kind::HstoreFetch
            | Kind::HstoreIn
            | Kind::HstoreConcat
            | Kind::HstoreDelete
            | Kind::HstoreBuild
            | Kind::HstoreToJson
            | Kind::JsonGet
            | Kind::JsonGetText
            | Kind::JsonPath
            | Kind::JsonPathText
            | Kind::JsonTypeof => DataType::Utf8,
        })
    }

    fn return_field_from_args(&self, args: ReturnFieldArgs) -> Result<FieldRef> {
        let min_args = match self.kind {
            Kind::Akeys
            | Kind::Avals
            | Kind::HstoreIn
            | Kind::HstoreToJson
            | Kind::JsonTypeof
            | Kind::JsonArrayLength => 1,
            Kind::JsonPath | Kind::JsonPathText => 1,
            _ => 2,
        };
        if args.arg_fields.len() < min_args {
            return Err(DataFusionError::Plan(format!(
                "function {}() needs {min_args} argument(s), got {}",
                self.name,
                args.arg_fields.len()
            )));
        }
        let types: Vec<DataType> = args
            .arg_fields
            .iter()
            .map(|f| f.data_type().clone())
            .collect();
        match self.kind {
            Kind::JsonGet | Kind::JsonPath if crate::schema::is_jsonb(&args.arg_fields[0]) => {
                Ok(crate::schema::jsonb_field(self.name))
            }
            Kind::HstoreToJson | Kind::JsonGet | Kind::JsonPath => Ok(json_field(self.name)),
            Kind::HstoreIn | Kind::HstoreConcat | Kind::HstoreDelete | Kind::HstoreBuild => {
                Ok(crate::schema::hstore_field(self.name))
            }
            _ => Ok(Arc::new(Field::new(
                self.name,
                self.return_type(&types)?,
                true,
            ))),
        }
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        // Scalar arguments are computed once, not once per row of the batch.
        let (arrays, scalar) = crate::semantics::arguments(&args)?;
        let rows = if scalar { 1 } else { args.number_rows };
        // A jsonb argument gives jsonb, whose text is canonical.
        let jsonb = args
            .arg_fields
            .first()
            .is_some_and(|f| crate::schema::is_jsonb(f));
        let out = match self.kind {
            Kind::JsonGet
            | Kind::JsonGetText
            | Kind::JsonPath
            | Kind::JsonPathText
            | Kind::JsonTypeof
            | Kind::JsonArrayLength => json_function(self.kind, &arrays, rows, jsonb)?,
            _ => hstore_function(self.kind, &arrays, rows)?,
        };
        crate::semantics::answer(out, scalar)
    }
}

/// An hstore function of `kind` over `rows` rows of `arrays`.
fn hstore_function(kind: Kind, arrays: &[ArrayRef], rows: usize) -> Result<ArrayRef> {
    let first = text_array(&arrays[0])?;
    Ok(match kind {
        Kind::HstoreBuild => hstore_build(arrays, rows)?,
        Kind::HstoreFetch if is_list(arrays[1].data_type()) => {
            let keys = text_lists(&arrays[1])?;
            let mut b = ListBuilder::new(StringBuilder::new());
            for (i, keys) in keys.iter().enumerate() {
                match (val(&first, i), keys) {
                    (Some(h), Some(keys)) => {
                        let h = parse_hstore(h)?;
                        for k in keys {
                            b.values().append_option(
                                k.as_ref().and_then(|k| h.get(k).cloned().flatten()),
                            );
                        }
                        b.append(true);
                    }
                    _ => b.append_null(),
                }
            }
            Arc::new(b.finish())
        }
        Kind::HstoreIn => map_text(rows, |i| {
            val(&first, i)
                .map(|h| Ok(hstore::render(&parse_hstore(h)?)))
                .transpose()
        })?,
        Kind::HstoreConcat => {
            let other = text_array(&arrays[1])?;
            map_text(rows, |i| {
                let (Some(a), Some(b)) = (val(&first, i), val(&other, i)) else {
                    return Ok(None);
                };
                let mut a = parse_hstore(a)?;
                a.extend(parse_hstore(b)?);
                Ok(Some(hstore::render(&a)))
            })?
        }
        Kind::HstoreDelete => {
            let keys: Vec<Option<Vec<Option<String>>>> = if is_list(arrays[1].data_type()) {
                text_lists(&arrays[1])?
            } else {
                let one = text_array(&arrays[1])?;
                (0..rows)
                    .map(|i| val(&one, i).map(|k| vec![Some(k.to_owned())]))
                    .collect()
            };
            map_text(rows, |i| {
                let (Some(h), Some(keys)) = (val(&first, i), &keys[i]) else {
                    return Ok(None);
                };
                let mut h = parse_hstore(h)?;
                for k in keys.iter().flatten() {
                    h.remove(k);
                }
                Ok(Some(hstore::render(&h)))
            })?
        }
        Kind::HstoreFetch => {
            let keys = text_array(&arrays[1])?;
            map_text(rows, |i| {
                let (Some(h), Some(k)) = (val(&first, i), val(&keys, i)) else {
                    return Ok(None);
                };
                Ok(parse_hstore(h)?.remove(k).flatten())
            })?
        }
        Kind::Akeys | Kind::Avals => {
            let keys = kind == Kind::Akeys;
            let mut b = ListBuilder::new(StringBuilder::new());
            for i in 0..rows {
                match val(&first, i) {
                    None => b.append_null(),
                    Some(h) => {
                        let h: Hstore = parse_hstore(h)?;
                        for (k, v) in stagesql_catalog::render::in_hstore_order(&h) {
                            if keys {
                                b.values().append_value(k);
                            } else {
                                b.values().append_option(v.as_deref());
                            }
                        }
                        b.append(true);
                    }
                }
            }
            Arc::new(b.finish())
        }
        Kind::HstoreToJson => map_text(rows, |i| {
            val(&first, i)
                .map(|h| Ok(hstore::to_json(&parse_hstore(h)?)))
                .transpose()
        })?,
        Kind::HstoreExist
        | Kind::HstoreDefined
        | Kind::HstoreExistAny
        | Kind::HstoreExistAll
        | Kind::HstoreContains
        | Kind::HstoreContained => hstore_test(kind, arrays, rows)?,
        Kind::JsonGet
        | Kind::JsonGetText
        | Kind::JsonPath
        | Kind::JsonPathText
        | Kind::JsonTypeof
        | Kind::JsonArrayLength => {
            return Err(DataFusionError::Internal(format!(
                "{kind:?} is a json function"
            )));
        }
    })
}

/// An hstore test (key existence, containment) of `kind`.
fn hstore_test(kind: Kind, arrays: &[ArrayRef], rows: usize) -> Result<ArrayRef> {
    let first = text_array(&arrays[0])?;
    Ok(match kind {
        Kind::HstoreExist | Kind::HstoreDefined => {
            let keys = text_array(&arrays[1])?;
            let defined = kind == Kind::HstoreDefined;
            map_bool(rows, |i| {
                let (Some(h), Some(k)) = (val(&first, i), val(&keys, i)) else {
                    return Ok(None);
                };
                let h = parse_hstore(h)?;
                Ok(Some(match h.get(k) {
                    Some(v) => !defined || v.is_some(),
                    None => false,
                }))
            })?
        }
        Kind::HstoreExistAny | Kind::HstoreExistAll => {
            let lists = key_lists(&arrays[1], rows)?;
            let any = kind == Kind::HstoreExistAny;
            map_bool(rows, |i| {
                let (Some(h), Some(keys)) = (val(&first, i), &lists[i]) else {
                    return Ok(None);
                };
                let h = parse_hstore(h)?;
                Ok(Some(if any {
                    keys.iter().any(|k| h.contains_key(k))
                } else {
                    keys.iter().all(|k| h.contains_key(k))
                }))
            })?
        }
        Kind::HstoreContains | Kind::HstoreContained => {
            let second = text_array(&arrays[1])?;
            let contained = kind == Kind::HstoreContained;
            map_bool(rows, |i| {
                let (Some(a), Some(b)) = (val(&first, i), val(&second, i)) else {
                    return Ok(None);
                };
                let (a, b) = (parse_hstore(a)?, parse_hstore(b)?);
                Ok(Some(if contained {
                    hstore::contains(&b, &a)
                } else {
                    hstore::contains(&a, &b)
                }))
            })?
        }
        _ => {
            return Err(DataFusionError::Internal(format!(
                "{kind:?} is not an hstore test"
            )));
        }
    })
}

/// A json function of `kind` over `rows` rows of `arrays`; `jsonb` when the first argument is
/// jsonb (whose text is canonical).
fn json_function(kind: Kind, arrays: &[ArrayRef], rows: usize, jsonb: bool) -> Result<ArrayRef> {
    let first = text_array(&arrays[0])?;
    let render = |v: &Value, as_text: bool| -> Result<Option<String>> {
        match render(v, as_text) {
            Some(t) if jsonb && !as_text => crate::semantics::json::jsonb_text(&t).map(Some),
            other => Ok(other),
        }
    };
    Ok(match kind {
        Kind::JsonGet | Kind::JsonGetText => {
            let steps = step_column(&arrays[1])?;
            let as_text = kind == Kind::JsonGetText;
            map_text(rows, |i| {
                let (Some(j), Some(step)) = (val(&first, i), &steps[i]) else {
                    return Ok(None);
                };
                let v = parse_json(j)?;
                json::walk(&v, std::slice::from_ref(step)).map_or(Ok(None), |v| render(v, as_text))
            })?
        }
        Kind::JsonPath | Kind::JsonPathText => {
            let path_cols = arrays[1..]
                .iter()
                .map(text_array)
                .collect::<Result<Vec<_>>>()?;
            let as_text = kind == Kind::JsonPathText;
            map_text(rows, |i| {
                let Some(j) = val(&first, i) else {
                    return Ok(None);
                };
                let mut path = Vec::with_capacity(path_cols.len());
                for col in &path_cols {
                    match val(col, i) {
                        Some(s) => path.push(Step::Key(s.to_owned())),
                        None => return Ok(None),
                    }
                }
                let v = parse_json(j)?;
                json::walk(&v, &path).map_or(Ok(None), |v| render(v, as_text))
            })?
        }
        Kind::JsonTypeof => map_text(rows, |i| {
            val(&first, i)
                .map(|j| Ok(json::type_name(&parse_json(j)?).to_owned()))
                .transpose()
        })?,
        Kind::JsonArrayLength => {
            let mut b = Int64Builder::with_capacity(rows);
            for i in 0..rows {
                match val(&first, i) {
                    None => b.append_null(),
                    Some(j) => match parse_json(j)? {
                        Value::Array(items) => b.append_value(items.len() as i64),
                        _ => {
                            return Err(DataFusionError::Execution(
                                "cannot get array length of a non-array".to_owned(),
                            ));
                        }
                    },
                }
            }
            Arc::new(b.finish())
        }

        _ => {
            return Err(DataFusionError::Internal(format!(
                "{kind:?} is an hstore function"
            )));
        }
    })
}

fn render(v: &Value, as_text: bool) -> Option<String> {
    if as_text {
        json::as_text(v)
    } else {
        Some(v.to_string())
    }
}

fn parse_json(text: &str) -> Result<Value> {
    serde_json::from_str(text)
        .map_err(|e| DataFusionError::Execution(format!("invalid input syntax for type json: {e}")))
}

fn text_array(a: &ArrayRef) -> Result<StringArray> {
    Ok(cast(a, &DataType::Utf8)?.as_string::<i32>().clone())
}

fn is_list(t: &DataType) -> bool {
    matches!(t, DataType::List(_) | DataType::LargeList(_))
}

/// A text[] argument, row by row.
/// `hstore(key, value)` (NULL for a NULL key) and `hstore(keys[], values[])` (NULL values for
/// a NULL values array; 22004 for a NULL key, 2202E for arrays of different lengths).
fn hstore_build(arrays: &[ArrayRef], rows: usize) -> Result<ArrayRef> {
    let failed = |e: EngineError| DataFusionError::External(Box::new(e));
    if is_list(arrays[0].data_type()) {
        let keys = text_lists(&arrays[0])?;
        let values = if is_list(arrays[1].data_type()) {
            text_lists(&arrays[1])?
        } else {
            vec![None; rows]
        };
        return map_text(rows, |i| {
            let Some(keys) = &keys[i] else {
                return Ok(None);
            };
            let mut h = Hstore::new();
            match &values[i] {
                Some(values) if values.len() != keys.len() => {
                    return Err(failed(EngineError::ArraySubscript(
                        "arrays must have same bounds".to_owned(),
                    )));
                }
                _ => {}
            }
            for (n, k) in keys.iter().enumerate() {
                let Some(k) = k else {
                    return Err(failed(EngineError::NullValueNotAllowed(
                        "null value not allowed for hstore key".to_owned(),
                    )));
                };
                let v = values[i].as_ref().and_then(|v| v[n].clone());
                h.insert(k.clone(), v);
            }
            Ok(Some(hstore::render(&h)))
        });
    }
    let keys = text_array(&arrays[0])?;
    let values = text_array(&arrays[1])?;
    map_text(rows, |i| {
        let Some(k) = val(&keys, i) else {
            return Ok(None);
        };
        let mut h = Hstore::new();
        h.insert(k.to_owned(), val(&values, i).map(str::to_owned));
        Ok(Some(hstore::render(&h)))
    })
}

fn text_lists(a: &ArrayRef) -> Result<Vec<Option<Vec<Option<String>>>>> {
    let lists = cast(a, &text_list_type())?;
    let lists = lists.as_list::<i32>();
    (0..lists.len())
        .map(|i| {
            if lists.is_null(i) {
                return Ok(None);
            }
            let items = text_array(&lists.value(i))?;
            Ok(Some(
                (0..items.len())
                    .map(|j| val(&items, j).map(str::to_owned))
                    .collect(),
            ))
        })
        .collect()
}

fn val(a: &StringArray, i: usize) -> Option<&str> {
    (!a.is_null(i)).then(|| a.value(i))
}

/// The key or index argument of `->`/`->>`: integers index arrays, anything else is a key.
fn step_column(a: &ArrayRef) -> Result<Vec<Option<Step>>> {
    if a.data_type().is_integer() {
        let ints = cast(a, &DataType::Int64)?;
        let ints = ints.as_primitive::<datafusion::arrow::datatypes::Int64Type>();
        return Ok((0..ints.len())
            .map(|i| (!ints.is_null(i)).then(|| Step::Index(ints.value(i))))
            .collect());
    }
    let keys = text_array(a)?;
    Ok((0..keys.len())
        .map(|i| val(&keys, i).map(|k| Step::Key(k.to_owned())))
        .collect())
}

/// The key-list argument of `?|`/`?&`: a text array, or a text-array literal such as `'{a,b}'`.
fn key_lists(a: &ArrayRef, rows: usize) -> Result<Vec<Option<Vec<String>>>> {
    let mut out = Vec::with_capacity(rows);
    match a.data_type() {
        DataType::List(_) | DataType::LargeList(_) => {
            let list = cast(a, &text_list_type())?;
            let list = list.as_list::<i32>();
            for i in 0..rows {
                if list.is_null(i) {
                    out.push(None);
                    continue;
                }
                let items = text_array(&list.value(i))?;
                out.push(Some(
                    (0..items.len())
                        .filter_map(|j| val(&items, j).map(str::to_owned))
                        .collect(),
                ));
            }
        }
        _ => {
            let texts = text_array(a)?;
            for i in 0..rows {
                out.push(match val(&texts, i) {
                    None => None,
                    Some(t) => Some(json::parse_path_literal(t).ok_or_else(|| {
                        DataFusionError::Execution(format!("malformed array literal: {t:?}"))
                    })?),
                });
            }
        }
    }
    Ok(out)
}

fn map_text(rows: usize, mut f: impl FnMut(usize) -> Result<Option<String>>) -> Result<ArrayRef> {
    let mut b = StringBuilder::with_capacity(rows, rows * 8);
    for i in 0..rows {
        b.append_option(f(i)?);
    }
    Ok(Arc::new(b.finish()))
}

fn map_bool(rows: usize, mut f: impl FnMut(usize) -> Result<Option<bool>>) -> Result<ArrayRef> {
    let mut b = BooleanBuilder::with_capacity(rows);
    for i in 0..rows {
        b.append_option(f(i)?);
    }
    Ok(Arc::new(b.finish()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::common::ScalarValue;
    use datafusion::config::ConfigOptions;

    /// Scalar arguments give one scalar answer, computed once, whatever the batch's size (they
    /// were expanded to a row each, and a parameter's json path was read once per row).
    #[test]
    fn scalar_arguments_are_computed_once() {
        let f = all()
            .into_iter()
            .find(|f| f.name() == "json_get_text")
            .expect("json_get_text");
        let args = vec![
            ColumnarValue::Scalar(ScalarValue::Utf8(Some(r#"{"a": 1}"#.to_owned()))),
            ColumnarValue::Scalar(ScalarValue::Utf8(Some("a".to_owned()))),
        ];
        let arg_fields = vec![
            Arc::new(Field::new("j", DataType::Utf8, true)),
            Arc::new(Field::new("k", DataType::Utf8, true)),
        ];
        let out = f
            .invoke_with_args(ScalarFunctionArgs {
                args,
                arg_fields,
                number_rows: 100_000,
                return_field: Arc::new(Field::new("json_get_text", DataType::Utf8, true)),
                config_options: Arc::new(ConfigOptions::default()),
            })
            .expect("runs");
        match out {
            ColumnarValue::Scalar(ScalarValue::Utf8(Some(v))) => assert_eq!(v, "1"),
            other => panic!("one scalar expected, got {other:?}"),
        }
    }
}
