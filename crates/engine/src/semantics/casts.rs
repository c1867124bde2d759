//! Casts whose meaning differs from Arrow's: the input functions of PostgreSQL's types (date
//! and time, numeric, integers, bytea, json, jsonb, hstore), the output of values as text, the tag a
//! cast to plain text drops, AT TIME ZONE on a timestamptz, and the rounding of casts to
//! integers. See the module documentation of [`super`] for each class.

use std::sync::Arc;

use datafusion::arrow::datatypes::{DataType, IntervalUnit};
use datafusion::common::tree_node::Transformed;
use datafusion::common::{DFSchema, Result, ScalarValue};
use datafusion::logical_expr::{Cast, Expr, ExprSchemable};

use super::{PgSemantics, SESSION_ZONE, is_inexact_number, is_integer, to_text, type_of};
use crate::schema::{is_hstore, is_json, is_jsonb};

impl PgSemantics {
    /// One cast (its operand already done): first the input functions of types read from
    /// text and the output of values as text.
    pub(super) fn cast(&self, cast: Cast, schema: &DFSchema) -> Result<Transformed<Expr>> {
        match Expr::Cast(cast) {
            Expr::Cast(Cast { expr, field })
                if matches!(
                    field.data_type(),
                    DataType::Decimal128(_, _) | DataType::Decimal256(_, _)
                ) && matches!(
                    type_of(&expr, schema)?,
                    DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View
                ) =>
            {
                Ok(Transformed::yes(Expr::Cast(Cast {
                    expr: Box::new(Self::call(&self.numeric_in, *expr)),
                    field,
                })))
            }
            Expr::Cast(Cast { expr, field })
                if is_integer(field.data_type())
                    && matches!(
                        type_of(&expr, schema)?,
                        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View
                    ) =>
            {
                // A string literal is read now, as PostgreSQL reads a literal while parsing:
                // `COALESCE(1, 'a')` fails even though the value is never needed, and the
                // column keeps a literal's nullability.
                if let Expr::Literal(value, _) = expr.as_ref()
                    && let Some(text) = value.try_as_str()
                {
                    let Some(text) = text else {
                        return Ok(Transformed::yes(Expr::Cast(Cast { expr, field })));
                    };
                    let value = super::numeric::integer_scalar(text, field.data_type())
                        .map_err(|e| datafusion::error::DataFusionError::External(Box::new(e)))?;
                    return Ok(Transformed::yes(Expr::Literal(value, None)));
                }
                let read = match field.data_type() {
                    DataType::Int16 => &self.int2_in,
                    DataType::Int32 => &self.int4_in,
                    _ => &self.int8_in,
                };
                Ok(Transformed::yes(Expr::Cast(Cast {
                    expr: Box::new(Self::call(read, *expr)),
                    field,
                })))
            }
            Expr::Cast(Cast { expr, field })
                if matches!(
                    field.data_type(),
                    DataType::Date32 | DataType::Timestamp(_, _)
                ) && matches!(
                    type_of(&expr, schema)?,
                    DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View
                ) =>
            {
                // A string literal is read now, as for integers above (an out-of-range date is
                // 22008 wherever it stands), except the words whose value is the time of the
                // run: a kept plan must not freeze `'now'`.
                if let Expr::Literal(value, _) = expr.as_ref()
                    && let Some(Some(text)) = value.try_as_str()
                    && !super::datetime_in::names_the_current_time(text)
                    && let Some(read) = super::datetime_in::read_scalar(text, field.data_type())
                        .map_err(|e| datafusion::error::DataFusionError::External(Box::new(e)))?
                {
                    return Ok(Transformed::yes(Expr::Literal(read, None)));
                }
                let read = match field.data_type() {
                    DataType::Date32 => &self.date_in,
                    DataType::Timestamp(_, None) => &self.timestamp_in,
                    _ => &self.timestamptz_in,
                };
                Ok(Transformed::yes(Expr::Cast(Cast {
                    expr: Box::new(Self::call(read, *expr)),
                    field,
                })))
            }
            Expr::Cast(Cast { expr, field })
                if *field.data_type() == DataType::Interval(IntervalUnit::MonthDayNano)
                    && matches!(
                        type_of(&expr, schema)?,
                        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View
                    ) =>
            {
                // PostgreSQL's interval input (time fields, `ago`), a literal read now.
                if let Expr::Literal(value, _) = expr.as_ref()
                    && let Some(Some(text)) = value.try_as_str()
                {
                    let read = super::interval::interval_input(text)
                        .map_err(|e| datafusion::error::DataFusionError::External(Box::new(e)))?;
                    return Ok(Transformed::yes(Expr::Literal(
                        ScalarValue::IntervalMonthDayNano(Some(read)),
                        None,
                    )));
                }
                Ok(Transformed::yes(Self::call(&self.interval_in, *expr)))
            }
            Expr::Cast(Cast { expr, field })
                if matches!(
                    field.data_type(),
                    DataType::Binary | DataType::LargeBinary | DataType::BinaryView
                ) && matches!(
                    type_of(&expr, schema)?,
                    DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View
                ) =>
            {
                let bytes = Self::call(&self.bytea_in, *expr);
                Ok(Transformed::yes(Expr::Cast(Cast {
                    expr: Box::new(bytes),
                    field,
                })))
            }
            Expr::Cast(Cast { expr, field })
                if matches!(
                    field.data_type(),
                    DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View
                ) && crate::schema::pg_type_tag(&field).is_none()
                    && to_text::needs_pg_text(&type_of(&expr, schema)?) =>
            {
                let text = Self::call(&self.to_text, *expr);
                Ok(Transformed::yes(if *field.data_type() == DataType::Utf8 {
                    text
                } else {
                    Expr::Cast(Cast {
                        expr: Box::new(text),
                        field,
                    })
                }))
            }
            // Not an input or output function: the tags of json, jsonb and hstore, time
            // zones, and integers.
            other => self.typed_cast(other, schema),
        }
    }

    /// A cast (`e` is one) to or from a tagged type (json, jsonb, hstore), to another time
    /// zone, or to an integer.
    fn typed_cast(&self, e: Expr, schema: &DFSchema) -> Result<Transformed<Expr>> {
        match e {
            Expr::Cast(Cast { expr, field })
                if field.metadata().is_empty()
                    && field.name().is_empty()
                    && crate::schema::pg_type_tag(&expr.to_field(schema)?.1).is_some() =>
            {
                // `json_col::text` is text: DataFusion's type-only cast would keep the source's
                // json/hstore tag (and json's lack of equality with it). A named target field
                // takes the target's (empty) metadata instead.
                let plain = Arc::new(datafusion::arrow::datatypes::Field::new(
                    "cast",
                    field.data_type().clone(),
                    field.is_nullable(),
                ));
                Ok(Transformed::yes(Expr::Cast(Cast { expr, field: plain })))
            }
            Expr::Cast(Cast { expr, field })
                if is_jsonb(&field) && !is_jsonb(&expr.to_field(schema)?.1) =>
            {
                let canonical = Box::new(Self::call(&self.jsonb_in, *expr));
                Ok(Transformed::yes(Expr::Cast(Cast {
                    expr: canonical,
                    field,
                })))
            }
            Expr::Cast(Cast { expr, field })
                if is_json(&field)
                    && !is_json(&expr.to_field(schema)?.1)
                    && !is_jsonb(&expr.to_field(schema)?.1) =>
            {
                let checked = Box::new(Self::call(&self.json_in, *expr));
                Ok(Transformed::yes(Expr::Cast(Cast {
                    expr: checked,
                    field,
                })))
            }
            Expr::Cast(Cast { expr, field })
                if is_hstore(&field) && !is_hstore(&expr.to_field(schema)?.1) =>
            {
                let read = Box::new(Self::call(&self.hstore_in, *expr));
                Ok(Transformed::yes(Expr::Cast(Cast { expr: read, field })))
            }
            Expr::Cast(Cast { expr, field })
                if matches!(field.data_type(), DataType::Timestamp(_, Some(z)) if z.as_ref() != SESSION_ZONE)
                    && matches!(type_of(&expr, schema)?, DataType::Timestamp(_, Some(_))) =>
            {
                // `timestamptz AT TIME ZONE 'zone'` (the only way a timestamptz is cast to
                // another zone here) is the wall-clock time there, a timestamp.
                let zoned = Expr::Cast(Cast { expr, field });
                Ok(Transformed::yes(Self::call(&self.local_time, zoned)))
            }
            Expr::Cast(Cast { expr, field }) if is_integer(field.data_type()) => {
                let from = type_of(&expr, schema)?;
                let expr = if is_inexact_number(&from) {
                    Box::new(Self::call(&self.round_half, *expr))
                } else {
                    return Ok(Transformed::no(Expr::Cast(Cast { expr, field })));
                };
                Ok(Transformed::yes(Expr::Cast(Cast { expr, field })))
            }
            other => Ok(Transformed::no(other)),
        }
    }
}
