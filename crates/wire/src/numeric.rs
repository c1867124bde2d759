//! `numeric` values: text from a decimal, and PostgreSQL's binary form from text.

use std::fmt::Write as _;

use bytes::{BufMut, BytesMut};

pub(crate) fn decimal_text(v: i128, scale: i8, out: &mut String) {
    if scale <= 0 {
        let _ = write!(out, "{v}{}", "0".repeat(scale.unsigned_abs() as usize));
        return;
    }
    let scale = scale as usize;
    let digits = v.unsigned_abs().to_string();
    let digits = format!("{digits:0>width$}", width = scale + 1);
    let (int, frac) = digits.split_at(digits.len() - scale);
    let _ = write!(out, "{}{int}.{frac}", if v < 0 { "-" } else { "" });
}

/// numeric_send from decimal text: base-10000 digits with weight, sign and display scale.
pub(crate) fn numeric_binary(text: &str, buf: &mut BytesMut) -> Result<(), String> {
    let t = text.trim();
    if t.eq_ignore_ascii_case("nan") {
        buf.put_i16(0);
        buf.put_i16(0);
        buf.put_u16(0xC000);
        buf.put_i16(0);
        return Ok(());
    }
    let (neg, t) = match t.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, t.strip_prefix('+').unwrap_or(t)),
    };
    let (int, frac) = t.split_once('.').unwrap_or((t, ""));
    if !int.chars().chain(frac.chars()).all(|c| c.is_ascii_digit()) {
        return Err(format!("not a decimal number: {text:?}"));
    }
    let int = int.trim_start_matches('0');
    let dscale = frac.len();
    // Pad the integer part on the left and the fraction on the right to whole groups of 4.
    let int_pad = (4 - int.len() % 4) % 4;
    let frac_pad = (4 - frac.len() % 4) % 4;
    let all = format!("{}{int}{frac}{}", "0".repeat(int_pad), "0".repeat(frac_pad));
    let mut groups: Vec<i16> = all
        .as_bytes()
        .chunks(4)
        .map(|c| c.iter().fold(0i16, |acc, d| acc * 10 + i16::from(d - b'0')))
        .collect();
    let mut weight = i16::try_from((int.len() + int_pad) / 4).map_err(|e| e.to_string())? - 1;
    while groups.first() == Some(&0) {
        groups.remove(0);
        weight -= 1;
    }
    while groups.last() == Some(&0) {
        groups.pop();
    }
    if groups.is_empty() {
        weight = 0;
    }
    buf.put_i16(i16::try_from(groups.len()).map_err(|e| e.to_string())?);
    buf.put_i16(weight);
    buf.put_u16(if neg && !groups.is_empty() { 0x4000 } else { 0 });
    buf.put_i16(i16::try_from(dscale).map_err(|e| e.to_string())?);
    for g in groups {
        buf.put_i16(g);
    }
    Ok(())
}
