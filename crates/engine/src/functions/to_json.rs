//! Values as JSON, the way PostgreSQL's `to_json` writes them, and the functions built on it:
//! `to_json`/`to_jsonb`, `json_build_object`/`json_build_array` (and their jsonb forms), and
//! the finishing steps of `json_agg`/`jsonb_agg`/`json_object_agg`/`jsonb_object_agg`
//! (`rewrite/json_aggregates.rs` turns those into `array_agg` of JSON texts).
//!
//! PostgreSQL's spacing differs per function and is kept: `to_json` of an array or row is
//! compact (`[1,2]`, `{"f1":1}`), `json_build_object` writes `{"a" : 1, "b" : 2}`,
//! `json_build_array` and `json_agg` `[1, 2]`, `json_object_agg` `{ "a" : 1 }`; the jsonb forms
//! print jsonb's canonical text. A value that is already json is embedded as it is, hstore as
//! its JSON object; numbers stay numbers (a numeric keeps its scale), timestamps are ISO 8601
//! strings, non-finite floats are strings.

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, StringBuilder};
use datafusion::arrow::datatypes::{DataType, Field, FieldRef, Float32Type, Float64Type};
use datafusion::common::{DataFusionError, Result};
use datafusion::logical_expr::{
    ColumnarValue, ReturnFieldArgs, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature,
    TypeSignature, Volatility,
};

use crate::error::EngineError;
use crate::schema::{PG_HSTORE, PG_JSON, PG_JSONB, pg_type_tag};
use crate::semantics::json::{jsonb_text, write_string};
use crate::text::{float_text, write_text};

/// Whether row `row` is NULL, also in an array of untyped NULLs (whose null buffer is absent).
fn is_null_at(array: &ArrayRef, row: usize) -> bool {
    array.is_null(row) || matches!(array.data_type(), DataType::Null)
}

/// Writes row `row` of `array` (described by `field`) as PostgreSQL's `to_json` does.
pub(crate) fn write_json(
    array: &ArrayRef,
    row: usize,
    field: &Field,
    out: &mut String,
) -> Result<(), String> {
    if is_null_at(array, row) {
        out.push_str("null");
        return Ok(());
    }
    match array.data_type() {
        DataType::Boolean => out.push_str(if array.as_boolean().value(row) {
            "true"
        } else {
            "false"
        }),
        DataType::Int8
        | DataType::Int16
        | DataType::Int32
        | DataType::Int64
        | DataType::UInt8
        | DataType::UInt16
        | DataType::UInt32
        | DataType::UInt64
        | DataType::Decimal128(..)
        | DataType::Decimal256(..) => write_text(array, row, out)?,
        DataType::Float32 | DataType::Float64 => {
            let v = match array.data_type() {
                DataType::Float32 => f64::from(array.as_primitive::<Float32Type>().value(row)),
                _ => array.as_primitive::<Float64Type>().value(row),
            };
            let mut text = String::new();
            if matches!(array.data_type(), DataType::Float32) {
                write_text(array, row, &mut text)?;
            } else {
                float_text(v, &mut text);
            }
            if v.is_finite() {
                out.push_str(&text);
            } else {
                write_string(&text, out);
            }
        }
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => {
            let mut text = String::new();
            write_text(array, row, &mut text)?;
            match pg_type_tag(field) {
                Some(PG_JSON | PG_JSONB) => out.push_str(&text),
                Some(PG_HSTORE) => {
                    let h = super::hstore::parse_hstore(&text).map_err(|e| e.to_string())?;
                    out.push_str(&super::hstore::to_json(&h));
                }
                _ => write_string(&text, out),
            }
        }
        DataType::Timestamp(_, zone) => {
            let mut text = String::new();
            write_text(array, row, &mut text)?;
            let mut iso = text.replacen(' ', "T", 1);
            if zone.is_some() {
                // `+00` → `+00:00`, as PostgreSQL's JSON timestamps carry the full offset.
                let tail = iso.rfind(['+', '-']).map(|i| iso.len() - i);
                if tail == Some(3) {
                    iso.push_str(":00");
                }
            }
            write_string(&iso, out);
        }
        DataType::List(item) | DataType::LargeList(item) | DataType::FixedSizeList(item, _) => {
            let values = crate::text::list_value(array, row);
            out.push('[');
            for i in 0..values.len() {
                if i > 0 {
                    out.push(',');
                }
                write_json(&values, i, item, out)?;
            }
            out.push(']');
        }
        DataType::Struct(fields) => {
            let s = array.as_struct();
            out.push('{');
            for (i, (f, column)) in fields.iter().zip(s.columns()).enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_string(f.name(), out);
                out.push(':');
                write_json(column, row, f, out)?;
            }
            out.push('}');
        }
        _ => {
            let mut text = String::new();
            write_text(array, row, &mut text)?;
            write_string(&text, out);
        }
    }
    Ok(())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Kind {
    /// `to_json(x)` / `to_jsonb(x)`.
    ToJson,
    /// `json_build_object(k, v, …)`.
    BuildObject,
    /// `json_build_array(v, …)`.
    BuildArray,
    /// `__pg_json_agg(json[])`: the array of the aggregated JSON texts.
    AggArray,
    /// `__pg_json_object_agg(key text[], json[])`.
    AggObject,
}

/// One of the JSON-producing functions, json or jsonb.
#[derive(Debug, PartialEq, Eq, Hash)]
struct JsonFunction {
    name: &'static str,
    kind: Kind,
    jsonb: bool,
    signature: Signature,
}

/// The functions of this module.
pub fn all() -> Vec<ScalarUDF> {
    let variadic = || {
        Signature::one_of(
            vec![TypeSignature::VariadicAny, TypeSignature::Nullary],
            Volatility::Stable,
        )
    };
    let f = |name, kind, jsonb, signature| {
        ScalarUDF::new_from_impl(JsonFunction {
            name,
            kind,
            jsonb,
            signature,
        })
    };
    vec![
        f(
            "to_json",
            Kind::ToJson,
            false,
            Signature::any(1, Volatility::Stable),
        ),
        f(
            "to_jsonb",
            Kind::ToJson,
            true,
            Signature::any(1, Volatility::Stable),
        ),
        f("json_build_object", Kind::BuildObject, false, variadic()),
        f("jsonb_build_object", Kind::BuildObject, true, variadic()),
        f("json_build_array", Kind::BuildArray, false, variadic()),
        f("jsonb_build_array", Kind::BuildArray, true, variadic()),
        f(
            "__pg_json_agg",
            Kind::AggArray,
            false,
            Signature::any(1, Volatility::Immutable),
        ),
        f(
            "__pg_jsonb_agg",
            Kind::AggArray,
            true,
            Signature::any(1, Volatility::Immutable),
        ),
        f(
            "__pg_json_object_agg",
            Kind::AggObject,
            false,
            Signature::any(1, Volatility::Immutable),
        ),
        f(
            "__pg_jsonb_object_agg",
            Kind::AggObject,
            true,
            Signature::any(1, Volatility::Immutable),
        ),
    ]
}

fn failed(e: EngineError) -> DataFusionError {
    DataFusionError::External(Box::new(e))
}

impl ScalarUDFImpl for JsonFunction {
    fn name(&self) -> &str {
        self.name
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _: &[DataType]) -> Result<DataType> {
        Ok(DataType::Utf8)
    }

    fn return_field_from_args(&self, args: ReturnFieldArgs) -> Result<FieldRef> {
        // The aggregates' finishing steps read a list (of pairs, for the object): anything else
        // (a direct call with other arguments) is refused here, never misread while running.
        let list_item = match args.arg_fields.first().map(|f| f.data_type()) {
            Some(DataType::List(item) | DataType::LargeList(item)) => Some(item.data_type()),
            _ => None,
        };
        let fits = match self.kind {
            Kind::AggArray => list_item.is_some(),
            Kind::AggObject => {
                matches!(list_item, Some(DataType::Struct(fields)) if fields.len() == 2)
            }
            _ => true,
        };
        if !fits {
            return Err(DataFusionError::Plan(format!(
                "No function matches the given name and argument types '{}'",
                self.name
            )));
        }
        Ok(if self.jsonb {
            crate::schema::jsonb_field(self.name)
        } else {
            crate::schema::json_field(self.name)
        })
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let rows = args.number_rows;
        let all_scalar = args
            .args
            .iter()
            .all(|a| matches!(a, ColumnarValue::Scalar(_)));
        let arrays = ColumnarValue::values_to_arrays(&args.args)?;
        if self.kind == Kind::BuildObject && !arrays.len().is_multiple_of(2) {
            return Err(failed(EngineError::InvalidArgument(
                "argument list must have even number of elements".to_owned(),
            )));
        }
        let n = if all_scalar { 1 } else { rows };
        let mut out = StringBuilder::new();
        let mut text = String::new();
        for row in 0..n {
            text.clear();
            let present = self
                .write_row(&arrays, &args.arg_fields, row, &mut text)
                .map_err(|e| match e {
                    Failure::Engine(e) => failed(e),
                    Failure::Text(e) => DataFusionError::Execution(e),
                })?;
            if !present {
                out.append_null();
            } else if self.jsonb {
                out.append_value(jsonb_text(&text)?);
            } else {
                out.append_value(&text);
            }
        }
        let array: ArrayRef = Arc::new(out.finish());
        Ok(if all_scalar {
            ColumnarValue::Scalar(datafusion::common::ScalarValue::try_from_array(&array, 0)?)
        } else {
            ColumnarValue::Array(array)
        })
    }
}

enum Failure {
    Engine(EngineError),
    Text(String),
}

impl From<String> for Failure {
    fn from(e: String) -> Failure {
        Failure::Text(e)
    }
}

impl JsonFunction {
    /// Writes one row's result into `out`; false for SQL NULL.
    fn write_row(
        &self,
        arrays: &[ArrayRef],
        fields: &[FieldRef],
        row: usize,
        out: &mut String,
    ) -> Result<bool, Failure> {
        match self.kind {
            Kind::ToJson => {
                if is_null_at(&arrays[0], row) {
                    return Ok(false);
                }
                write_json(&arrays[0], row, &fields[0], out)?;
            }
            Kind::BuildArray => {
                out.push('[');
                for (i, (a, f)) in arrays.iter().zip(fields).enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    write_json(a, row, f, out)?;
                }
                out.push(']');
            }
            Kind::BuildObject => {
                out.push('{');
                for (i, pair) in arrays.chunks(2).enumerate() {
                    if is_null_at(&pair[0], row) {
                        return Err(Failure::Engine(EngineError::InvalidArgument(format!(
                            "argument {} cannot be null",
                            2 * i + 1
                        ))));
                    }
                    if i > 0 {
                        out.push_str(", ");
                    }
                    let mut key = String::new();
                    write_text(&pair[0], row, &mut key)?;
                    write_string(&key, out);
                    out.push_str(" : ");
                    write_json(&pair[1], row, &fields[2 * i + 1], out)?;
                }
                out.push('}');
            }
            Kind::AggArray => {
                if is_null_at(&arrays[0], row) {
                    return Ok(false);
                }
                let items = crate::text::list_value(&arrays[0], row);
                out.push('[');
                for i in 0..items.len() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    if is_null_at(&items, i) {
                        out.push_str("null");
                    } else {
                        write_text(&items, i, out)?;
                    }
                }
                out.push(']');
            }
            Kind::AggObject => {
                if is_null_at(&arrays[0], row) {
                    return Ok(false);
                }
                let pairs = crate::text::list_value(&arrays[0], row);
                let pairs = pairs.as_struct();
                let (keys, values) = (pairs.column(0), pairs.column(1));
                out.push_str("{ ");
                for i in 0..pairs.len() {
                    if is_null_at(keys, i) {
                        return Err(Failure::Engine(EngineError::InvalidArgument(
                            "field name must not be null".to_owned(),
                        )));
                    }
                    if i > 0 {
                        out.push_str(", ");
                    }
                    let mut key = String::new();
                    write_text(keys, i, &mut key)?;
                    write_string(&key, out);
                    out.push_str(" : ");
                    if is_null_at(values, i) {
                        out.push_str("null");
                    } else {
                        write_text(values, i, out)?;
                    }
                }
                out.push_str(" }");
            }
        }
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use datafusion::arrow::datatypes::Fields;

    use super::*;

    fn returns(name: &str, arg: DataType) -> Result<FieldRef> {
        let udf = all()
            .into_iter()
            .find(|f| f.name() == name)
            .expect("registered");
        let fields = [Arc::new(Field::new("a", arg, true))];
        udf.return_field_from_args(ReturnFieldArgs {
            arg_fields: &fields,
            scalar_arguments: &[None],
        })
    }

    #[test]
    fn aggregate_steps_take_only_their_lists() {
        assert!(returns("__pg_json_agg", DataType::Utf8).is_err());
        assert!(returns("__pg_json_agg", DataType::new_list(DataType::Utf8, true)).is_ok());
        assert!(
            returns(
                "__pg_json_object_agg",
                DataType::new_list(DataType::Utf8, true)
            )
            .is_err()
        );
        let pair = DataType::Struct(Fields::from(vec![
            Field::new("k", DataType::Utf8, true),
            Field::new("v", DataType::Utf8, true),
        ]));
        assert!(returns("__pg_jsonb_object_agg", DataType::new_list(pair, true)).is_ok());
        assert!(returns("to_json", DataType::Int32).is_ok());
    }
}
