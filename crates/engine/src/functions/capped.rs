//! Functions whose result can be far larger than their arguments, checked before they
//! allocate it.
//!
//! The query memory pools ([`crate::limits`]) see what operators hold (hash tables, sorts,
//! aggregates), not what a scalar function allocates for its result: `repeat('x', 1000000000)`
//! would take a gigabyte in one call, and over a batch of 8192 rows far more. Each function
//! here is DataFusion's own, wrapped so that before it runs on a batch the largest value and
//! the whole batch it could produce are computed from the arguments (cheaply: lengths and
//! counts, never the result):
//!
//! - a value over PostgreSQL's limit of 1 GB fails with 54000 `requested length too large`,
//!   as PostgreSQL's `repeat`, `lpad` and array constructors do;
//! - a batch over the query's memory limit, or over what the server-wide budget has left,
//!   fails with 53200 `out of memory`.
//!
//! `levenshtein` (PostgreSQL's fuzzystrmatch) takes time in the product of its arguments'
//! lengths inside one call, where no cancel can reach; like fuzzystrmatch it refuses
//! arguments over 255 characters (22023).

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray};
use datafusion::arrow::datatypes::{DataType, FieldRef};
use datafusion::common::{ExprSchema, Result, ScalarValue};
use datafusion::error::DataFusionError;
use datafusion::logical_expr::{
    ColumnarValue, Documentation, Expr, ReturnFieldArgs, ScalarFunctionArgs, ScalarUDF,
    ScalarUDFImpl, Signature,
};

use crate::error::EngineError;
use crate::limits::MemoryBudget;

/// The largest value PostgreSQL can hold (`MaxAllocSize`, 1 GB - 1).
pub const MAX_VALUE_BYTES: u64 = 0x3fff_ffff;

/// fuzzystrmatch's `MAX_LEVENSHTEIN_STRLEN`.
const MAX_LEVENSHTEIN_CHARS: usize = 255;

/// The most a call could produce: its largest value and the whole batch, in bytes.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct Size {
    largest: u64,
    total: u64,
}

impl Size {
    fn add(&mut self, value: u64) {
        self.largest = self.largest.max(value);
        self.total = self.total.saturating_add(value);
    }
}

/// How a function's output is bounded from its arguments.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Bound {
    /// `repeat(text, n)`.
    Repeat,
    /// `lpad`/`rpad(text, n [, fill])`.
    Pad,
    /// `replace(text, from, to)`.
    Replace,
    /// `regexp_replace(text, pattern, replacement [, flags])`.
    RegexpReplace,
    /// `array_repeat(element, n)`.
    ArrayRepeat,
    /// `array_resize(array, n [, value])`.
    ArrayResize,
    /// `range`/`generate_series` returning an array: `(stop)` or `(start, stop [, step])`.
    Range,
    /// `array_to_string(array, separator [, null])`.
    ArrayToString,
    /// `levenshtein(a, b)`: arguments of at most 255 characters.
    Levenshtein,
}

/// The functions wrapped, by DataFusion's name.
const WRAPPED: &[(&str, Bound)] = &[
    ("repeat", Bound::Repeat),
    ("lpad", Bound::Pad),
    ("rpad", Bound::Pad),
    ("replace", Bound::Replace),
    ("regexp_replace", Bound::RegexpReplace),
    ("array_repeat", Bound::ArrayRepeat),
    ("array_resize", Bound::ArrayResize),
    ("range", Bound::Range),
    ("generate_series", Bound::Range),
    ("array_to_string", Bound::ArrayToString),
    ("levenshtein", Bound::Levenshtein),
];

/// DataFusion's versions of the [`WRAPPED`] functions in `registered`, each wrapped.
pub fn wrap_all(
    registered: &std::collections::HashMap<String, Arc<ScalarUDF>>,
    budget: &Arc<MemoryBudget>,
) -> Vec<ScalarUDF> {
    WRAPPED
        .iter()
        .filter_map(|(name, bound)| {
            registered.get(*name).map(|inner| {
                ScalarUDF::new_from_impl(Capped {
                    inner: Arc::clone(inner.inner()),
                    bound: *bound,
                    budget: Arc::clone(budget),
                })
            })
        })
        .collect()
}

/// One argument of a call, without expanding a scalar to the batch.
#[derive(Clone, Copy)]
enum Arg<'a> {
    Scalar(&'a ScalarValue),
    Array(&'a ArrayRef),
    Missing,
}

impl<'a> Arg<'a> {
    fn of(args: &'a [ColumnarValue], i: usize) -> Arg<'a> {
        match args.get(i) {
            Some(ColumnarValue::Scalar(s)) => Arg::Scalar(s),
            Some(ColumnarValue::Array(a)) => Arg::Array(a),
            None => Arg::Missing,
        }
    }

    /// This argument at row `row`: an array with no such row (a call over no rows still looks
    /// at row 0, for its scalars) is missing there.
    fn at(self, row: usize) -> Arg<'a> {
        match self {
            Arg::Array(a) if row >= a.len() => Arg::Missing,
            other => other,
        }
    }

    /// Row `row` as a string (`None` for NULL, or a value that is not text).
    fn text(self, row: usize) -> Option<&'a str> {
        match self {
            Arg::Scalar(
                ScalarValue::Utf8(v) | ScalarValue::LargeUtf8(v) | ScalarValue::Utf8View(v),
            ) => v.as_deref(),
            Arg::Array(a) if a.is_null(row) => None,
            Arg::Array(a) => match a.data_type() {
                DataType::Utf8 => Some(a.as_string::<i32>().value(row)),
                DataType::LargeUtf8 => Some(a.as_string::<i64>().value(row)),
                DataType::Utf8View => Some(a.as_string_view().value(row)),
                _ => None,
            },
            _ => None,
        }
    }

    /// Row `row`'s byte length as text (0 for NULL).
    fn len(self, row: usize) -> u64 {
        self.text(row).map_or(0, |t| t.len() as u64)
    }

    /// Row `row` as an integer (`None` for NULL or a value that is not one).
    fn int(self, row: usize) -> Option<i64> {
        let scalar = match self {
            Arg::Scalar(s) => s.clone(),
            Arg::Array(a) => ScalarValue::try_from_array(a, row).ok()?,
            Arg::Missing => return None,
        };
        match scalar {
            ScalarValue::Int8(v) => v.map(i64::from),
            ScalarValue::Int16(v) => v.map(i64::from),
            ScalarValue::Int32(v) | ScalarValue::Date32(v) => v.map(i64::from),
            ScalarValue::Int64(v)
            | ScalarValue::TimestampSecond(v, _)
            | ScalarValue::TimestampMillisecond(v, _)
            | ScalarValue::TimestampMicrosecond(v, _)
            | ScalarValue::TimestampNanosecond(v, _)
            | ScalarValue::Date64(v) => v,
            ScalarValue::UInt8(v) => v.map(i64::from),
            ScalarValue::UInt16(v) => v.map(i64::from),
            ScalarValue::UInt32(v) => v.map(i64::from),
            ScalarValue::UInt64(v) => v.map(|v| i64::try_from(v).unwrap_or(i64::MAX)),
            _ => None,
        }
    }

    /// The bytes one element of this argument takes, about (for arrays of it).
    fn element_bytes(self) -> u64 {
        let bytes = match self {
            Arg::Scalar(s) => s.size() as u64,
            Arg::Array(a) if a.is_empty() => 0,
            Arg::Array(a) => (a.get_array_memory_size() / a.len()) as u64,
            Arg::Missing => 0,
        };
        bytes.max(8)
    }

    /// Elements of the list in row `row`, and the bytes of all the list's values (for a scalar
    /// list, its own; for an array, the whole batch's).
    fn list_len(self, row: usize) -> (u64, u64) {
        let list: ArrayRef = match self {
            Arg::Scalar(s) => match s.to_array() {
                Ok(a) => a,
                Err(_) => return (0, 0),
            },
            Arg::Array(a) => Arc::clone(a),
            Arg::Missing => return (0, 0),
        };
        let row = if matches!(self, Arg::Scalar(_)) {
            0
        } else {
            row
        };
        if list.is_null(row) {
            return (0, 0);
        }
        let values_bytes = |v: &ArrayRef| v.get_array_memory_size() as u64;
        match list.data_type() {
            DataType::List(_) => {
                let l = list.as_list::<i32>();
                (l.value_length(row).max(0) as u64, values_bytes(l.values()))
            }
            DataType::LargeList(_) => {
                let l = list.as_list::<i64>();
                (l.value_length(row).max(0) as u64, values_bytes(l.values()))
            }
            DataType::FixedSizeList(_, n) => {
                let l = list.as_fixed_size_list();
                ((*n).max(0) as u64, values_bytes(l.values()))
            }
            _ => (0, 0),
        }
    }
}

/// The widest character of `s`, in bytes.
fn widest_char(s: &str) -> u64 {
    if s.is_ascii() {
        1
    } else {
        s.chars().map(|c| c.len_utf8() as u64).max().unwrap_or(1)
    }
}

/// A count from the arguments, never negative.
fn count(v: Option<i64>) -> u64 {
    v.map_or(0, |n| n.max(0) as u64)
}

/// Nanoseconds of an interval step, about (a month as 30 days); `None` if not an interval.
fn step_nanos(arg: Arg<'_>, row: usize) -> Option<i128> {
    let scalar = match arg {
        Arg::Scalar(s) => s.clone(),
        Arg::Array(a) => ScalarValue::try_from_array(a, row).ok()?,
        Arg::Missing => return None,
    };
    const DAY: i128 = 86_400_000_000_000;
    match scalar {
        ScalarValue::IntervalMonthDayNano(Some(v)) => Some(
            i128::from(v.months) * 30 * DAY + i128::from(v.days) * DAY + i128::from(v.nanoseconds),
        ),
        ScalarValue::IntervalDayTime(Some(v)) => {
            Some(i128::from(v.days) * DAY + i128::from(v.milliseconds) * 1_000_000)
        }
        ScalarValue::IntervalYearMonth(Some(m)) => Some(i128::from(m) * 30 * DAY),
        _ => None,
    }
}

/// Elements `range(start, stop, step)` would produce, about.
fn range_len(args: &[ColumnarValue], row: usize) -> u64 {
    let a = |i| Arg::of(args, i).at(row);
    let (start, stop, step) = match args.len() {
        1 => (Some(0), a(0).int(row), None),
        _ => (a(0).int(row), a(1).int(row), Some(a(2))),
    };
    let (Some(start), Some(stop)) = (start, stop) else {
        return 0;
    };
    let span = (i128::from(stop) - i128::from(start)).abs();
    let step = match step {
        None | Some(Arg::Missing) => 1,
        Some(arg) => match (arg.int(row), step_nanos(arg, row)) {
            (Some(n), _) => i128::from(n).abs(),
            (None, Some(nanos)) => {
                // Dates count days, timestamps their unit; compare in the start's unit.
                let unit = match args.first().map(ColumnarValue::data_type) {
                    Some(DataType::Date32) => 86_400_000_000_000,
                    Some(DataType::Timestamp(u, _)) => match u {
                        datafusion::arrow::datatypes::TimeUnit::Second => 1_000_000_000,
                        datafusion::arrow::datatypes::TimeUnit::Millisecond => 1_000_000,
                        datafusion::arrow::datatypes::TimeUnit::Microsecond => 1_000,
                        datafusion::arrow::datatypes::TimeUnit::Nanosecond => 1,
                    },
                    _ => 1,
                };
                (nanos.abs() / unit).max(1)
            }
            (None, None) => 1,
        },
    };
    u64::try_from(span / step.max(1) + 1).unwrap_or(u64::MAX)
}

/// The most `bound`'s function could produce over `rows` rows of `args`.
fn estimate(bound: Bound, args: &[ColumnarValue], rows: usize) -> Result<Size, EngineError> {
    let mut size = Size::default();
    for row in 0..rows {
        let a = |i| Arg::of(args, i).at(row);
        let value = match bound {
            Bound::Repeat => a(0).len(row).saturating_mul(count(a(1).int(row))),
            Bound::Pad => {
                let fill = match a(2) {
                    Arg::Missing => 1,
                    f => f.text(row).map_or(1, widest_char),
                };
                let own = a(0).text(row).map_or(1, widest_char);
                count(a(1).int(row)).saturating_mul(fill.max(own))
            }
            Bound::Replace => {
                let (s, from, to) = (a(0).len(row), a(1).len(row), a(2).len(row));
                if to <= from {
                    s
                } else {
                    let most =
                        s.saturating_add((s / from.max(1) + 1).saturating_mul(to - from.min(to)));
                    if most <= MAX_VALUE_BYTES {
                        most
                    } else {
                        // Count the matches only when the cheap bound is not enough.
                        let matches = match (a(0).text(row), a(1).text(row)) {
                            (Some(t), Some(f)) if !f.is_empty() => t.matches(f).count() as u64,
                            _ => s + 1,
                        };
                        s.saturating_add(matches.saturating_mul(to - from.min(to)))
                    }
                }
            }
            Bound::RegexpReplace => {
                let (s, r) = (a(0).len(row), a(2).text(row).unwrap_or(""));
                // At most one replacement per position, each the replacement with every
                // reference expanded; matches do not overlap, so references add at most the
                // whole text per reference.
                let references = r.matches(['\\', '$']).count() as u64;
                s.saturating_add((s + 1).saturating_mul(r.len() as u64))
                    .saturating_add(references.saturating_mul(s))
            }
            Bound::ArrayRepeat => count(a(1).int(row)).saturating_mul(a(0).element_bytes()),
            Bound::ArrayResize => {
                let element = match a(2) {
                    Arg::Missing => 8,
                    v => v.element_bytes(),
                };
                count(a(1).int(row)).saturating_mul(element.max(8))
            }
            Bound::Range => range_len(args, row).saturating_mul(8),
            Bound::ArrayToString => {
                let (elements, values) = a(0).list_len(row);
                let per = a(1).len(row) + a(2).len(row);
                values.saturating_add(elements.saturating_mul(per))
            }
            Bound::Levenshtein => {
                for i in 0..2 {
                    if a(i)
                        .text(row)
                        .is_some_and(|t| t.chars().nth(MAX_LEVENSHTEIN_CHARS).is_some())
                    {
                        return Err(EngineError::InvalidArgument(format!(
                            "levenshtein argument exceeds maximum length of {MAX_LEVENSHTEIN_CHARS} characters"
                        )));
                    }
                }
                0
            }
        };
        size.add(value);
        if matches!(args.first(), Some(ColumnarValue::Scalar(_)))
            && args.iter().all(|a| matches!(a, ColumnarValue::Scalar(_)))
        {
            // Every argument is a scalar: the result is one scalar too.
            break;
        }
    }
    Ok(size)
}

/// A DataFusion function checked by its [`Bound`] before each call (see the module docs).
#[derive(Debug)]
struct Capped {
    inner: Arc<dyn ScalarUDFImpl>,
    bound: Bound,
    budget: Arc<MemoryBudget>,
}

impl PartialEq for Capped {
    fn eq(&self, other: &Self) -> bool {
        self.bound == other.bound && self.inner.name() == other.inner.name()
    }
}

impl Eq for Capped {}

impl std::hash::Hash for Capped {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.inner.name().hash(state);
        self.bound.hash(state);
    }
}

impl Capped {
    fn check(&self, args: &[ColumnarValue], rows: usize) -> Result<(), EngineError> {
        let size = estimate(self.bound, args, rows.max(1))?;
        if size.largest > MAX_VALUE_BYTES {
            return Err(EngineError::ProgramLimitExceeded(
                "requested length too large".to_owned(),
            ));
        }
        let limits = self.budget.limits();
        let left = limits.total.saturating_sub(self.budget.used()) as u64;
        let allowed = (limits.per_query as u64).min(left);
        if size.total > allowed {
            return Err(EngineError::OutOfMemory(format!(
                "{}() would produce {} MB for {rows} rows, more than the {} MB a query may use",
                self.inner.name(),
                size.total / (1024 * 1024),
                allowed / (1024 * 1024)
            )));
        }
        Ok(())
    }
}

impl ScalarUDFImpl for Capped {
    fn name(&self) -> &str {
        self.inner.name()
    }

    fn aliases(&self) -> &[String] {
        self.inner.aliases()
    }

    fn schema_name(&self, args: &[Expr]) -> Result<String> {
        self.inner.schema_name(args)
    }

    fn signature(&self) -> &Signature {
        self.inner.signature()
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        self.inner.return_type(arg_types)
    }

    fn return_field_from_args(&self, args: ReturnFieldArgs) -> Result<FieldRef> {
        self.inner.return_field_from_args(args)
    }

    #[allow(deprecated)]
    fn is_nullable(&self, args: &[Expr], schema: &dyn ExprSchema) -> bool {
        self.inner.is_nullable(args, schema)
    }

    fn is_strict(&self) -> bool {
        self.inner.is_strict()
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        self.check(&args.args, args.number_rows)
            .map_err(|e| DataFusionError::External(Box::new(e)))?;
        self.inner.invoke_with_args(args)
    }

    fn short_circuits(&self) -> bool {
        self.inner.short_circuits()
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        self.inner.coerce_types(arg_types)
    }

    fn documentation(&self) -> Option<&Documentation> {
        self.inner.documentation()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::limits::MemoryLimits;

    fn budget() -> Arc<MemoryBudget> {
        Arc::new(MemoryBudget::new(MemoryLimits {
            per_query: 64 * 1024 * 1024,
            total: 128 * 1024 * 1024,
        }))
    }

    fn capped(bound: Bound) -> Capped {
        let name = WRAPPED
            .iter()
            .find(|(_, b)| *b == bound)
            .map(|(n, _)| *n)
            .unwrap_or("repeat");
        let inner = datafusion::functions::all_default_functions()
            .into_iter()
            .chain(datafusion::functions_nested::all_default_nested_functions())
            .find(|f| f.name() == name)
            .map(|f| Arc::clone(f.inner()))
            .unwrap_or_else(|| panic!("{name}"));
        Capped {
            inner,
            bound,
            budget: budget(),
        }
    }

    fn text(s: &str) -> ColumnarValue {
        ColumnarValue::Scalar(ScalarValue::Utf8(Some(s.to_owned())))
    }

    fn int(n: i64) -> ColumnarValue {
        ColumnarValue::Scalar(ScalarValue::Int64(Some(n)))
    }

    fn ints(n: i64, rows: usize) -> ColumnarValue {
        ColumnarValue::Array(Arc::new(datafusion::arrow::array::Int64Array::from(vec![
            n;
            rows
        ])))
    }

    fn code(err: EngineError) -> &'static str {
        match err {
            EngineError::ProgramLimitExceeded(_) => "54000",
            EngineError::OutOfMemory(_) => "53200",
            EngineError::InvalidArgument(_) => "22023",
            _ => "other",
        }
    }

    #[test]
    fn values_over_a_gigabyte_are_too_large_and_batches_over_the_limit_out_of_memory() {
        let repeat = capped(Bound::Repeat);
        let err = repeat
            .check(&[text("xy"), int(600_000_000)], 1)
            .expect_err("1.2 GB");
        assert_eq!(code(err), "54000");
        let err = repeat
            .check(&[text("x"), int(100_000_000)], 1)
            .expect_err("100 MB over a 64 MB query limit");
        assert_eq!(code(err), "53200");
        let err = repeat
            .check(&[text("x"), ints(10_000, 8192)], 8192)
            .expect_err("82 MB over a batch");
        assert_eq!(code(err), "53200");
        repeat
            .check(&[text("x"), ints(1_000, 8192)], 8192)
            .expect("8 MB is fine");
        repeat
            .check(&[text("x"), int(10_000)], 8192)
            .expect("scalar arguments give one scalar");
        repeat.check(&[text("x"), int(-5)], 1).expect("negative");
    }

    #[test]
    fn pads_count_characters_of_the_widest_kind() {
        let pad = capped(Bound::Pad);
        pad.check(&[text("x"), int(10_000_000)], 1)
            .expect("10 MB of spaces");
        let err = pad
            .check(&[text("x"), ints(10_000_000, 8), text("€")], 8)
            .expect_err("3 bytes a character, 8 rows");
        assert_eq!(code(err), "53200");
    }

    #[test]
    fn replace_and_array_bounds() {
        let replace = capped(Bound::Replace);
        let big = "a".repeat(100_000);
        let err = replace
            .check(&[text(&big), text("a"), text(&"b".repeat(1_000))], 1)
            .expect_err("100 MB");
        assert_eq!(code(err), "53200");
        replace
            .check(&[text(&big), text("zz"), text(&"b".repeat(100_000))], 1)
            .expect("no matches: the exact count saves it");
        let range = capped(Bound::Range);
        let err = range
            .check(&[int(0), int(10_000_000_000)], 1)
            .expect_err("80 GB");
        assert_eq!(code(err), "54000");
        range.check(&[int(0), int(1_000)], 1).expect("small");
        let err = capped(Bound::ArrayRepeat)
            .check(&[int(1), int(1_000_000_000)], 1)
            .expect_err("8 GB");
        assert_eq!(code(err), "54000");
    }

    #[test]
    fn levenshtein_takes_at_most_255_characters() {
        let lev = capped(Bound::Levenshtein);
        lev.check(&[text(&"a".repeat(255)), text("b")], 1)
            .expect("255");
        let err = lev
            .check(&[text("b"), text(&"é".repeat(256))], 1)
            .expect_err("256");
        assert_eq!(code(err), "22023");
    }

    /// A call over no rows (an aggregate's argument over an empty group: psql's `\\dp` over
    /// `pg_policy`) has empty arrays; the check looked at their row 0 and panicked.
    #[test]
    fn a_call_over_no_rows_checks_its_scalars_only() {
        use datafusion::arrow::array::{ListArray, StringArray};
        use datafusion::arrow::datatypes::Int32Type;
        let empty_list: ArrayRef =
            Arc::new(ListArray::from_iter_primitive::<Int32Type, _, _>(Vec::<
                Option<Vec<Option<i32>>>,
            >::new(
            )));
        let empty_text: ArrayRef = Arc::new(StringArray::from(Vec::<Option<&str>>::new()));
        let no_rows = |a: &ArrayRef| ColumnarValue::Array(Arc::clone(a));
        capped(Bound::ArrayToString)
            .check(&[no_rows(&empty_list), text(",")], 0)
            .expect("no rows");
        capped(Bound::Repeat)
            .check(&[no_rows(&empty_text), ints(5, 0)], 0)
            .expect("no rows");
        capped(Bound::Range)
            .check(&[ints(1, 0), ints(5, 0)], 0)
            .expect("no rows");
        let err = capped(Bound::Repeat)
            .check(&[text("x"), int(2_000_000_000)], 0)
            .expect_err("a scalar is still checked");
        assert_eq!(code(err), "54000");
    }
}
