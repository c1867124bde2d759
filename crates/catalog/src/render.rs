//! Text renderings shared by the row rules: hstore output text and stage ARNs.

use std::collections::BTreeMap;
use std::fmt::Write as _;

/// Renders a map the way PostgreSQL's `hstore_out` does, pairs in hstore's own order (see
/// [`in_hstore_order`]).
///
/// Keys and values are always double-quoted, `"` and `\` are backslash-escaped, and pairs are
/// joined by `", "`. An empty map renders as the empty string (not NULL), as in PostgreSQL.
pub fn hstore_text(map: &BTreeMap<String, String>) -> String {
    let mut out = String::with_capacity(map.len() * 16);
    for (i, (k, v)) in in_hstore_order(map).into_iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        push_quoted(&mut out, k);
        out.push_str("=>");
        push_quoted(&mut out, v);
    }
    out
}

/// The pairs of `map` in the order PostgreSQL's hstore keeps them: shorter keys first, then by
/// bytes (`hstoreUniquePairs` sorts by key length, then `memcmp`). Output text, `akeys`,
/// `avals`, `each` and `hstore_to_json` all follow it.
pub fn in_hstore_order<V>(map: &BTreeMap<String, V>) -> Vec<(&String, &V)> {
    let mut pairs: Vec<(&String, &V)> = map.iter().collect();
    // The map is already in byte order, so a stable sort by length is enough.
    pairs.sort_by_key(|(k, _)| k.len());
    pairs
}

/// Appends `s` double-quoted with `"` and `\` escaped: one hstore key or value.
pub fn push_quoted(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
}

/// The AWS partition a region belongs to.
///
/// `cn-*` is `aws-cn`, `us-gov-*` is `aws-us-gov`, the isolated regions have their own, and every
/// other region is in `aws`.
pub fn partition_for_region(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else if region.starts_with("us-isob-") {
        "aws-iso-b"
    } else if region.starts_with("us-iso-") {
        "aws-iso"
    } else {
        "aws"
    }
}

/// `arn:{partition}:apigateway:{region}::/apis/{api_id}/stages/{stage_name}`; the account field is
/// empty by AWS's own convention, and `$default` stays verbatim.
pub fn stage_arn(region: &str, api_id: &str, stage_name: &str) -> String {
    let mut arn = String::with_capacity(48 + region.len() + api_id.len() + stage_name.len());
    // Writing to a String cannot fail.
    let _ = write!(
        arn,
        "arn:{}:apigateway:{}::/apis/{}/stages/{}",
        partition_for_region(region),
        region,
        api_id,
        stage_name
    );
    arn
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn hstore_sorted_quoted_and_joined() {
        // PostgreSQL's order: by key length, then bytes.
        let m = map(&[
            ("region", "us-east-1"),
            ("lambdaAlias", "live"),
            ("b", "1"),
            ("a", "2"),
        ]);
        assert_eq!(
            hstore_text(&m),
            r#""a"=>"2", "b"=>"1", "region"=>"us-east-1", "lambdaAlias"=>"live""#
        );
    }

    #[test]
    fn hstore_escapes_quotes_and_backslashes_only() {
        let m = map(&[("q", r#"say "hi" \ back"#), ("a,b", "x=>y"), ("ü", "ñ")]);
        assert_eq!(
            hstore_text(&m),
            r#""q"=>"say \"hi\" \\ back", "ü"=>"ñ", "a,b"=>"x=>y""#
        );
    }

    #[test]
    fn empty_hstore_is_empty_string() {
        assert_eq!(hstore_text(&BTreeMap::new()), "");
    }

    #[test]
    fn partitions() {
        assert_eq!(partition_for_region("us-east-1"), "aws");
        assert_eq!(partition_for_region("cn-north-1"), "aws-cn");
        assert_eq!(partition_for_region("us-gov-west-1"), "aws-us-gov");
        assert_eq!(partition_for_region("us-iso-east-1"), "aws-iso");
        assert_eq!(partition_for_region("us-isob-east-1"), "aws-iso-b");
    }

    #[test]
    fn arn_keeps_dollar_default() {
        assert_eq!(
            stage_arn("cn-north-1", "abc123", "$default"),
            "arn:aws-cn:apigateway:cn-north-1::/apis/abc123/stages/$default"
        );
    }
}
