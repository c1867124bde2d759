//! Unit tests of the Arrow → PostgreSQL value encoders.

use super::*;

fn float(v: f64) -> String {
    let mut s = String::new();
    float_text(v, &mut s);
    s
}

#[test]
fn floats_print_like_postgres() {
    assert_eq!(float(50.0), "50");
    assert_eq!(float(5.5), "5.5");
    assert_eq!(float(0.1), "0.1");
    assert_eq!(float(-0.25), "-0.25");
    assert_eq!(float(1e16), "1e+16");
    assert_eq!(float(1.5e-5), "1.5e-05");
    assert_eq!(float(f64::NAN), "NaN");
    assert_eq!(float(f64::NEG_INFINITY), "-Infinity");
}

#[test]
fn timestamps_print_iso_with_trimmed_fraction() {
    let mut s = String::new();
    timestamp_text(1_795_599_528_000_000, &mut s).expect("in range");
    assert_eq!(s, "2026-11-25 09:38:48");
    s.clear();
    timestamp_text(1_795_599_528_120_000, &mut s).expect("in range");
    assert_eq!(s, "2026-11-25 09:38:48.12");
}

#[test]
fn array_items_are_quoted_when_needed() {
    let mut s = String::new();
    for item in ["a", "b c", "", "NULL", "x\"y", "{"] {
        array_item_text(item, &mut s);
        s.push(',');
    }
    assert_eq!(s, r#"a,"b c","","NULL","x\"y","{","#);
}

#[test]
fn numeric_binary_matches_postgres() {
    let mut b = BytesMut::new();
    numeric_binary("12345.678", &mut b).expect("number");
    // ndigits 3, weight 1, sign +, dscale 3, digits 1 2345 6780
    assert_eq!(
        &b[..],
        &[0, 3, 0, 1, 0, 0, 0, 3, 0, 1, 0x09, 0x29, 0x1a, 0x7c]
    );
    let mut z = BytesMut::new();
    numeric_binary("0.00", &mut z).expect("number");
    assert_eq!(&z[..], &[0, 0, 0, 0, 0, 0, 0, 2]);
}

#[test]
fn decimals_render_with_scale() {
    let mut s = String::new();
    decimal_text(-5, 2, &mut s);
    assert_eq!(s, "-0.05");
}

#[test]
fn a_null_typed_column_is_sent_as_null() {
    let array: ArrayRef = std::sync::Arc::new(datafusion::arrow::array::NullArray::new(2));
    let batch = RecordBatch::try_new(
        std::sync::Arc::new(datafusion::arrow::datatypes::Schema::new(vec![
            datafusion::arrow::datatypes::Field::new("n", DataType::Null, true),
        ])),
        vec![array],
    )
    .expect("batch");
    let columns = [ColumnFormat {
        pg_type: pgwire::api::Type::TEXT,
        format: FieldFormat::Text,
        interval_style: Default::default(),
    }];
    let rows = encode_batch(&batch, &columns).expect("encodes");
    assert_eq!(rows.len(), 2);
    // Length -1 marks NULL in a DataRow.
    assert_eq!(&rows[0].data[..], &(-1i32).to_be_bytes());
}

#[test]
fn jsonb_binary_is_its_version_byte_then_the_text() {
    let array: ArrayRef = std::sync::Arc::new(datafusion::arrow::array::StringArray::from(vec![
        r#"{"a": 1}"#,
    ]));
    let batch = RecordBatch::try_new(
        std::sync::Arc::new(datafusion::arrow::datatypes::Schema::new(vec![
            datafusion::arrow::datatypes::Field::new("j", DataType::Utf8, true),
        ])),
        vec![array],
    )
    .expect("batch");
    let columns = [ColumnFormat {
        pg_type: pgwire::api::Type::JSONB,
        format: FieldFormat::Binary,
        interval_style: Default::default(),
    }];
    let rows = encode_batch(&batch, &columns).expect("encodes");
    let text = br#"{"a": 1}"#;
    let mut expected = i32::try_from(text.len() + 1)
        .expect("small")
        .to_be_bytes()
        .to_vec();
    expected.push(1);
    expected.extend_from_slice(text);
    assert_eq!(&rows[0].data[..], &expected[..]);
}

/// Text, boolean and timestamp columns take a path of their own (their type looked at once
/// per batch): it must give the bytes the general path gives, NULLs included.
#[test]
fn text_and_boolean_columns_encode_like_every_other_value() {
    use datafusion::arrow::array::{BooleanArray, StringArray, TimestampMicrosecondArray};
    use datafusion::arrow::datatypes::{Field, Schema, TimeUnit};
    let text: ArrayRef = std::sync::Arc::new(StringArray::from(vec![Some("ab"), None, Some("")]));
    let flags: ArrayRef =
        std::sync::Arc::new(BooleanArray::from(vec![Some(true), Some(false), None]));
    let times = vec![
        Some(1_795_599_528_120_000),
        None,
        Some(-62_135_596_800_000_001),
    ];
    let stamps: ArrayRef = std::sync::Arc::new(TimestampMicrosecondArray::from(times.clone()));
    let zoned: ArrayRef =
        std::sync::Arc::new(TimestampMicrosecondArray::from(times).with_timezone("+00:00"));
    let batch = RecordBatch::try_new(
        std::sync::Arc::new(Schema::new(vec![
            Field::new("t", DataType::Utf8, true),
            Field::new("b", DataType::Boolean, true),
            Field::new("ts", DataType::Timestamp(TimeUnit::Microsecond, None), true),
            Field::new(
                "tz",
                DataType::Timestamp(TimeUnit::Microsecond, Some("+00:00".into())),
                true,
            ),
        ])),
        vec![text, flags, stamps, zoned],
    )
    .expect("batch");
    let fmt = |pg_type| ColumnFormat {
        pg_type,
        format: FieldFormat::Text,
        interval_style: Default::default(),
    };
    let formats = [
        fmt(pgwire::api::Type::TEXT),
        fmt(pgwire::api::Type::BOOL),
        fmt(pgwire::api::Type::TIMESTAMP),
        fmt(pgwire::api::Type::TIMESTAMPTZ),
    ];
    let rows = encode_batch(&batch, &formats).expect("encodes");
    let field = |v: Option<&[u8]>| match v {
        Some(v) => [&(v.len() as i32).to_be_bytes()[..], v].concat(),
        None => (-1i32).to_be_bytes().to_vec(),
    };
    let expected = [
        [
            field(Some(b"ab")),
            field(Some(b"t")),
            field(Some(b"2026-11-25 09:38:48.12")),
            field(Some(b"2026-11-25 09:38:48.12+00")),
        ]
        .concat(),
        [field(None), field(Some(b"f")), field(None), field(None)].concat(),
        [
            field(Some(b"")),
            field(None),
            field(Some(b"0001-12-31 23:59:59.999999 BC")),
            field(Some(b"0001-12-31 23:59:59.999999+00 BC")),
        ]
        .concat(),
    ];
    for (row, want) in rows.iter().zip(&expected) {
        assert_eq!(&row.data[..], &want[..]);
    }
    assert_eq!(rows.len(), 3);
    // The general path, value by value, gives the same bytes.
    for (r, row) in rows.iter().enumerate() {
        let mut general = bytes::BytesMut::new();
        for (array, f) in batch.columns().iter().zip(&formats) {
            encode_value(array, r, f, &mut general, &mut String::new()).expect("encodes");
        }
        assert_eq!(&row.data[..], &general[..]);
    }
}

/// Rows encoded straight from whole columns (a prepared lookup's, `quick::execute_lookup`)
/// are the DataRow messages pgwire writes for those rows taken into a batch and encoded, in
/// text and in binary, NULLs included; a row past the columns or a missing format is refused
/// with nothing written.
#[test]
fn selected_rows_encode_as_a_batch_of_them_does() {
    use datafusion::arrow::array::{BooleanArray, Int64Array, StringArray, UInt32Array};
    use datafusion::arrow::compute::take_record_batch;
    use datafusion::arrow::datatypes::{Field, Schema};
    use pgwire::messages::Message;
    let batch = RecordBatch::try_new(
        std::sync::Arc::new(Schema::new(vec![
            Field::new("t", DataType::Utf8, true),
            Field::new("b", DataType::Boolean, true),
            Field::new("n", DataType::Int64, true),
        ])),
        vec![
            std::sync::Arc::new(StringArray::from(vec![
                Some("ab"),
                None,
                Some(""),
                Some("zé"),
            ])),
            std::sync::Arc::new(BooleanArray::from(vec![
                Some(true),
                Some(false),
                None,
                None,
            ])),
            std::sync::Arc::new(Int64Array::from(vec![
                Some(1),
                None,
                Some(-7),
                Some(i64::MAX),
            ])),
        ],
    )
    .expect("batch");
    let formats = |format| {
        [
            (pgwire::api::Type::TEXT, format),
            (pgwire::api::Type::BOOL, format),
            (pgwire::api::Type::INT8, format),
        ]
        .map(|(pg_type, format)| ColumnFormat {
            pg_type,
            format,
            interval_style: Default::default(),
        })
    };
    for format in [FieldFormat::Text, FieldFormat::Binary] {
        let formats = formats(format);
        for rows in [&[][..], &[0], &[1], &[3], &[0, 1, 2, 3], &[1, 3]] {
            let mut ours = bytes::BytesMut::from(&b"before"[..]);
            let count =
                encode_selected_rows(batch.columns(), rows, &formats, &mut ours).expect("encodes");
            assert_eq!(count, rows.len());
            let taken =
                take_record_batch(&batch, &UInt32Array::from(rows.to_vec())).expect("taken");
            let mut theirs = bytes::BytesMut::from(&b"before"[..]);
            for row in encode_batch(&taken, &formats).expect("encodes") {
                row.encode(&mut theirs).expect("message");
            }
            assert_eq!(ours, theirs, "{format:?} {rows:?}");
        }
        let mut out = bytes::BytesMut::from(&b"kept"[..]);
        assert!(encode_selected_rows(batch.columns(), &[4], &formats, &mut out).is_err());
        assert!(encode_selected_rows(batch.columns(), &[0], &formats[..2], &mut out).is_err());
        assert_eq!(&out[..], b"kept");
    }
}
