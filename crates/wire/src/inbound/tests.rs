use super::*;
use crate::error::WireError;

fn typed(kind: u8, body: &[u8]) -> Vec<u8> {
    let mut m = vec![kind];
    m.extend_from_slice(&((body.len() + 4) as i32).to_be_bytes());
    m.extend_from_slice(body);
    m
}

fn startup(params: &[u8]) -> Vec<u8> {
    let mut body = 196_608i32.to_be_bytes().to_vec();
    body.extend_from_slice(params);
    let mut m = ((body.len() + 4) as i32).to_be_bytes().to_vec();
    m.extend(body);
    m
}

fn logged_in_scanner(limits: InboundLimits) -> Scanner {
    let mut s = Scanner::new(limits);
    s.observe(&startup(b"user\0u\0\0")).expect("startup");
    assert!(s.take_startup_verdict().is_none());
    s.logged_in();
    s
}

#[test]
fn invalid_utf8_is_found_however_the_bytes_are_split() {
    let mut query = b"SELECT '".to_vec();
    query.extend_from_slice("é€😀".as_bytes());
    query.extend_from_slice(b"\xff'\0");
    let message = typed(b'Q', &query);
    for chunk in 1..=message.len() {
        let mut s = logged_in_scanner(InboundLimits::default());
        for part in message.chunks(chunk) {
            s.observe(part).expect("readable");
        }
        match s.take_verdict(1) {
            Some(Verdict::Refuse(WireError::BadEncoding(seq))) => assert_eq!(seq, "0xff"),
            other => panic!("chunk {chunk}: {other:?}"),
        }
    }
    // Valid multi-byte text split anywhere passes.
    let good = typed(b'Q', "SELECT 'é€😀 ok'\0".as_bytes());
    for chunk in 1..=good.len() {
        let mut s = logged_in_scanner(InboundLimits::default());
        for part in good.chunks(chunk) {
            s.observe(part).expect("readable");
        }
        assert!(s.take_verdict(1).is_none(), "chunk {chunk}");
    }
}

#[test]
fn a_character_cut_by_its_nul_is_invalid() {
    let mut s = logged_in_scanner(InboundLimits::default());
    s.observe(&typed(b'P', b"s\xc3\0SELECT 1\0\0\0"))
        .expect("readable");
    assert!(matches!(
        s.take_verdict(1),
        Some(Verdict::Refuse(WireError::BadEncoding(_)))
    ));
}

#[test]
fn binary_fields_are_not_read_as_text() {
    // A Parse whose parameter type oid holds bytes that are not UTF-8.
    let mut body = b"\0SELECT $1\0".to_vec();
    body.extend_from_slice(&1i16.to_be_bytes());
    body.extend_from_slice(&0x0000_00c8i32.to_be_bytes());
    let mut s = logged_in_scanner(InboundLimits::default());
    s.observe(&typed(b'P', &body)).expect("readable");
    s.observe(&typed(b'E', b"\0\xff\xff\xff\xff"))
        .expect("readable");
    assert!(s.take_verdict(1).is_none());
    assert!(s.take_verdict(2).is_none());
}

#[test]
fn verdicts_are_numbered_by_message() {
    let mut s = logged_in_scanner(InboundLimits::default());
    let mut bytes = typed(b'Q', b"SELECT 1\0");
    bytes.extend(typed(b'D', b"S\xfe\0"));
    bytes.extend(typed(b'S', b""));
    bytes.extend(typed(b'C', b"Pok\0"));
    s.observe(&bytes).expect("readable");
    assert!(s.take_verdict(1).is_none());
    assert!(matches!(s.take_verdict(2), Some(Verdict::Refuse(_))));
    assert!(s.take_verdict(3).is_none());
    assert!(s.take_verdict(4).is_none());
}

#[test]
fn lengths_are_capped_before_login_and_after() {
    let mut s = Scanner::new(InboundLimits::default());
    s.observe(&startup(b"user\0u\0\0")).expect("startup");
    // Before login: a Query declaring 20,000 bytes is refused from its header alone.
    assert!(s.observe(&[b'Q', 0, 0, 0x4e, 0x20]).is_err());
    assert!(matches!(
        s.take_fatal(),
        Some(WireError::MessageLength {
            declared: 20_000,
            ..
        })
    ));
    let limits = InboundLimits {
        max_message: 1_000_000,
        budget: InputBudget::new(10_000_000),
    };
    let mut s = logged_in_scanner(limits.clone());
    assert!(s.observe(&[b'Q', 0, 0x0f, 0x42, 0x40]).is_ok(), "1,000,000");
    let mut s = logged_in_scanner(limits.clone());
    assert!(
        s.observe(&[b'Q', 0, 0x0f, 0x42, 0x41]).is_err(),
        "1,000,001"
    );
    let mut s = logged_in_scanner(limits);
    assert!(
        s.observe(&[b'Q', 0xff, 0xff, 0xff, 0xff]).is_err(),
        "negative"
    );
    let mut s = logged_in_scanner(InboundLimits::default());
    assert!(
        s.observe(&[b'S', 0, 0, 0, 3]).is_err(),
        "shorter than itself"
    );
}

#[test]
fn the_budget_is_shared_and_given_back() {
    let budget = InputBudget::new(300_000);
    let limits = InboundLimits {
        max_message: 1_000_000,
        budget: Arc::clone(&budget),
    };
    let header = |len: i32| {
        let mut h = vec![b'Q'];
        h.extend_from_slice(&len.to_be_bytes());
        h
    };
    let mut a = logged_in_scanner(limits.clone());
    let mut b = logged_in_scanner(limits.clone());
    a.observe(&header(200_000)).expect("within the budget");
    assert_eq!(budget.used(), 200_000);
    assert!(b.observe(&header(200_000)).is_err(), "budget spent");
    assert!(matches!(
        b.take_fatal(),
        Some(WireError::InputBudgetSpent { .. })
    ));
    // Small messages never touch the budget.
    let mut c = logged_in_scanner(limits);
    c.observe(&typed(b'Q', b"SELECT 1\0")).expect("small");
    // The rest of a's message arrives: its reservation is given back.
    let mut body = vec![b'x'; 200_000 - 5];
    body.push(0);
    a.observe(&body).expect("body");
    assert_eq!(budget.used(), 0);
    drop(b);
}

#[test]
fn the_startup_packet_must_end_with_its_terminator() {
    for (params, ok) in [
        (&b"user\0u\0database\0d\0\0"[..], true),
        (b"user\0u\0database\0d\0", false),
        (b"user\0u", false),
        (b"user\0u\0extra\0\0", false),
        (b"user\0u\0\0trailing", false),
        (b"\0", true),
    ] {
        let mut s = Scanner::new(InboundLimits::default());
        s.observe(&startup(params)).expect("readable");
        let verdict = s.take_startup_verdict();
        assert_eq!(verdict.is_none(), ok, "{params:?}: {verdict:?}");
    }
    let mut s = Scanner::new(InboundLimits::default());
    s.observe(&startup(b"user\0\xc3\x28\0\0"))
        .expect("readable");
    assert!(matches!(
        s.take_startup_verdict(),
        Some(Verdict::Fatal(WireError::BadStartupEncoding(_)))
    ));
}

#[test]
fn requests_before_startup_keep_the_untyped_phase() {
    let mut s = Scanner::new(InboundLimits::default());
    let mut ssl = 8i32.to_be_bytes().to_vec();
    ssl.extend_from_slice(&(SSL_REQUEST as i32).to_be_bytes());
    s.observe(&ssl).expect("ssl request");
    s.observe(&startup(b"user\0u\0\0")).expect("startup");
    s.logged_in();
    s.observe(&typed(b'Q', b"\xff\0")).expect("query");
    assert!(matches!(s.take_verdict(1), Some(Verdict::Refuse(_))));
}
