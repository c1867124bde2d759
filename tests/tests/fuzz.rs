//! Thousands of random and mutated protocol messages thrown at a running server while a normal
//! client keeps querying. Every hostile connection must get answers, an error or a close (never
//! a hang of the server), no task may panic, and the normal client must see every query
//! answered correctly and promptly.
//!
//! The mutations are seeded (`STAGESQL_FUZZ_SEED`, printed on failure) so a failure replays.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use stagesql_tests::TestServer;
use stagesql_tests::frames::{bind, cstr, describe, execute, message, parse, query, startup, sync};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// xorshift64*: small, seeded, good enough to pick mutations.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    fn byte(&mut self) -> u8 {
        self.next() as u8
    }
}

/// Valid messages after startup, the material mutations start from.
fn corpus() -> Vec<Vec<u8>> {
    vec![
        query("SELECT stage_name, tags FROM aws.apigatewayv2_stage ORDER BY 1 LIMIT 3"),
        query("SELECT 1; SELECT 'two'"),
        query(
            "BEGIN; DECLARE c CURSOR FOR SELECT * FROM aws.apigatewayv2_stage; FETCH 2 FROM c; COMMIT",
        ),
        parse(
            "s1",
            "SELECT count(*) FROM aws.apigatewayv2_stage WHERE region = $1",
            &[25],
        ),
        bind("s1", &[0], &[Some(b"us-east-1")], &[1]),
        bind("s1", &[1], &[Some(b"\x00\x00")], &[0]),
        bind("s1", &[], &[], &[]),
        parse("", "SELECT $1::int4 + 1", &[23]),
        bind("", &[1], &[Some(&7i32.to_be_bytes())], &[1]),
        bind("", &[1], &[Some(b"\x01\x02\x03")], &[]),
        describe(b'S', "s1"),
        describe(b'P', ""),
        execute(0),
        execute(1),
        sync(),
        message(b'H', &[]),
        message(b'C', &{
            let mut b = vec![b'S'];
            b.extend(cstr("s1"));
            b
        }),
        message(b'd', b"copy data out of place"),
        message(b'c', &[]),
        message(b'f', &cstr("copy failed")),
        message(b'p', b"password out of place"),
        query("SET statement_timeout = '2s'"),
        query("COPY aws.apigatewayv2_stage TO STDOUT"),
    ]
}

/// Counts and sizes worth trying in a field: the edges of the type and of the protocol.
fn interesting_i32(rng: &mut Rng) -> i32 {
    const EDGES: [i32; 12] = [
        0,
        1,
        2,
        -1,
        -2,
        i32::MAX,
        i32::MIN,
        i16::MAX as i32,
        i16::MIN as i32,
        65_535,
        10_000,
        0x3fff_ffff,
    ];
    if rng.below(4) == 0 {
        rng.next() as i32
    } else {
        EDGES[rng.below(EDGES.len())]
    }
}

fn interesting_i16(rng: &mut Rng) -> i16 {
    const EDGES: [i16; 8] = [0, 1, 2, -1, i16::MAX, i16::MIN, 255, 1000];
    if rng.below(4) == 0 {
        rng.next() as i16
    } else {
        EDGES[rng.below(EDGES.len())]
    }
}

/// A name: usually short and valid, sometimes long, not UTF-8, or empty.
fn name(rng: &mut Rng) -> Vec<u8> {
    let mut n: Vec<u8> = match rng.below(6) {
        0 => Vec::new(),
        1 => (0..rng.below(300))
            .map(|_| b'a' + (rng.byte() % 26))
            .collect(),
        2 => (0..1 + rng.below(8)).map(|_| 0x80 | rng.byte()).collect(),
        3 => "p\u{FFFD}é".as_bytes().to_vec(),
        _ => vec![b's', b'0' + (rng.byte() % 3)],
    };
    n.retain(|b| *b != 0);
    n.push(0);
    n
}

/// A well-framed message whose counts, sizes and names are hostile: the class of input that
/// byte flips rarely reach (Execute's max_rows, Bind's counts and lengths, Parse's type
/// count, Describe/Close names, COPY messages out of place, text that is not UTF-8).
fn structured(rng: &mut Rng) -> Vec<u8> {
    match rng.below(9) {
        0 => {
            let mut b = name(rng);
            b.extend_from_slice(&interesting_i32(rng).to_be_bytes());
            message(b'E', &b)
        }
        1 => {
            let mut b = name(rng);
            b.extend(name(rng));
            b.extend_from_slice(&interesting_i16(rng).to_be_bytes());
            for _ in 0..rng.below(3) {
                b.extend_from_slice(&interesting_i16(rng).to_be_bytes());
            }
            b.extend_from_slice(&interesting_i16(rng).to_be_bytes());
            for _ in 0..rng.below(3) {
                let len = interesting_i32(rng);
                b.extend_from_slice(&len.to_be_bytes());
                let n = usize::try_from(len).unwrap_or(0).min(rng.below(16));
                b.extend((0..n).map(|_| rng.byte()));
            }
            b.extend_from_slice(&interesting_i16(rng).to_be_bytes());
            for _ in 0..rng.below(3) {
                b.extend_from_slice(&interesting_i16(rng).to_be_bytes());
            }
            message(b'B', &b)
        }
        2 => {
            let mut b = name(rng);
            b.extend(cstr("SELECT $1, $2 FROM aws.apigatewayv2_stage"));
            b.extend_from_slice(&interesting_i16(rng).to_be_bytes());
            for _ in 0..rng.below(4) {
                b.extend_from_slice(&interesting_i32(rng).to_be_bytes());
            }
            message(b'P', &b)
        }
        3 => {
            let mut b = vec![[b'S', b'P', rng.byte()][rng.below(3)]];
            b.extend(name(rng));
            message([b'D', b'C'][rng.below(2)], &b)
        }
        4 => {
            // Query text with bytes that are not UTF-8, or a character split at its end.
            let mut b = b"SELECT '".to_vec();
            b.extend((0..rng.below(12)).map(|_| rng.byte() | 0x80));
            b.extend_from_slice(b"'");
            b.retain(|x| *x != 0);
            b.push(0);
            message(b'Q', &b)
        }
        5 => match rng.below(4) {
            0 => message(
                b'd',
                &(0..rng.below(64)).map(|_| rng.byte()).collect::<Vec<_>>(),
            ),
            1 => message(b'c', &[]),
            2 => message(b'f', &name(rng)),
            _ => query("COPY aws.apigatewayv2_stage TO STDOUT (FORMAT binary)"),
        },
        6 => message(b'p', &name(rng)),
        7 => {
            // A big result fetched a few rows at a time through a portal.
            let mut m = parse("", "SELECT * FROM aws.apigatewayv2_stage", &[]);
            m.extend(bind("", &[], &[], &[1]));
            for _ in 0..1 + rng.below(4) {
                m.extend(execute(interesting_i32(rng)));
            }
            m
        }
        _ => {
            // A header whose length is all that arrives: the server must not wait for or
            // reserve a gigabyte.
            let mut m = vec![[b'Q', b'P', b'B', b'd'][rng.below(4)]];
            m.extend_from_slice(&interesting_i32(rng).to_be_bytes());
            m
        }
    }
}

/// One hostile session: startup (sometimes mutated) then a run of valid, mutated, structured
/// and random messages, sometimes out of order.
fn hostile_bytes(rng: &mut Rng, corpus: &[Vec<u8>]) -> Vec<u8> {
    let mut out = startup();
    if rng.below(8) == 0 {
        mutate(rng, &mut out);
    }
    for _ in 0..1 + rng.below(12) {
        let mut m = match rng.below(12) {
            0 => (0..rng.below(40)).map(|_| rng.byte()).collect(),
            1 => message(
                rng.byte(),
                &(0..rng.below(20)).map(|_| rng.byte()).collect::<Vec<_>>(),
            ),
            2..=4 => structured(rng),
            _ => corpus[rng.below(corpus.len())].clone(),
        };
        if rng.below(3) == 0 {
            mutate(rng, &mut m);
        }
        out.extend(m);
    }
    if rng.below(4) == 0 {
        out.extend(message(b'X', &[]));
    }
    out
}

fn mutate(rng: &mut Rng, m: &mut Vec<u8>) {
    if m.is_empty() {
        m.push(rng.byte());
        return;
    }
    match rng.below(7) {
        0 => {
            let i = rng.below(m.len());
            m[i] ^= 1 << rng.below(8);
        }
        1 => {
            let i = rng.below(m.len());
            m[i] = rng.byte();
        }
        2 => m.truncate(rng.below(m.len())),
        3 => {
            let i = rng.below(m.len() + 1);
            let extra: Vec<u8> = (0..1 + rng.below(8)).map(|_| rng.byte()).collect();
            m.splice(i..i, extra);
        }
        4 if m.len() >= 5 => {
            // A length field that lies: tiny, negative, or huge.
            let lie: i32 = match rng.below(4) {
                0 => 0,
                1 => -1,
                2 => 0x3fff_fff0,
                _ => rng.next() as i32,
            };
            m[1..5].copy_from_slice(&lie.to_be_bytes());
        }
        5 => {
            let i = rng.below(m.len());
            m.drain(i..(i + 1 + rng.below(6)).min(m.len()));
        }
        _ => {
            let n = m.len();
            m.extend_from_within(..n.min(32));
        }
    }
}

/// Sends one hostile session and reads until the server closes or goes quiet. Returns
/// whether the server answered at all.
async fn throw(port: u16, bytes: Vec<u8>) -> usize {
    let Ok(mut sock) = TcpStream::connect(("127.0.0.1", port)).await else {
        return 0;
    };
    let _ = sock.write_all(&bytes).await;
    let mut buf = vec![0u8; 64 * 1024];
    let mut total = 0;
    loop {
        match tokio::time::timeout(Duration::from_millis(300), sock.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) | Err(_) => break,
            Ok(Ok(n)) => total += n,
        }
    }
    total
}

/// How long a fuzz run goes on.
#[derive(Clone, Copy)]
enum Volume {
    Sessions(usize),
    For(Duration),
}

/// What a fuzz run saw.
#[derive(Debug, Default)]
struct Figures {
    sessions: usize,
    messages: usize,
    bytes: usize,
    answered: usize,
    contained: usize,
    healthy_queries: usize,
    slowest: Duration,
    peak_rss_mib: u64,
}

/// The resident set of this process (the server runs in it), in MiB.
fn rss_mib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb / 1024)
}

/// Throws hostile sessions at a fresh server while a healthy client queries, and checks
/// that nothing panicked, the healthy client was always answered promptly, and the server
/// still accepts connections.
async fn fuzz(seed: u64, volume: Volume) -> Figures {
    // Any panic anywhere in the process (a connection task included) is a failure, except
    // those contained while decoding a client's bytes (pgwire's decoders over-read on some
    // lying counts; the server ends that connection with 08P01). Those are counted.
    let panics = Arc::new(AtomicUsize::new(0));
    let contained = Arc::new(AtomicUsize::new(0));
    let previous = std::panic::take_hook();
    let (counter, decoder) = (Arc::clone(&panics), Arc::clone(&contained));
    std::panic::set_hook(Box::new(move |info| {
        if stagesql_wire::socket::decoding_client_bytes() {
            decoder.fetch_add(1, Ordering::SeqCst);
        } else {
            counter.fetch_add(1, Ordering::SeqCst);
            previous(info);
        }
    }));

    let server = TestServer::start().await;
    let port = server.port();
    let client = server.client().await;
    let done = Arc::new(AtomicBool::new(false));
    let healthy = {
        let done = Arc::clone(&done);
        tokio::spawn(async move {
            let (mut ok, mut slowest) = (0usize, Duration::ZERO);
            while !done.load(Ordering::SeqCst) {
                let started = Instant::now();
                let n: i64 = client
                    .query_one(
                        "SELECT count(*) FROM aws.apigatewayv2_stage WHERE region <> $1",
                        &[&"nowhere"],
                    )
                    .await
                    .expect("the healthy client is always answered")
                    .get(0);
                assert_eq!(n, 50);
                slowest = slowest.max(started.elapsed());
                ok += 1;
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            (ok, slowest)
        })
    };

    let corpus = corpus();
    let mut rng = Rng(seed | 1);
    let mut figures = Figures::default();
    let started = Instant::now();
    loop {
        let more = match volume {
            Volume::Sessions(n) => figures.sessions < n,
            Volume::For(d) => started.elapsed() < d,
        };
        if !more {
            break;
        }
        let batch: Vec<Vec<u8>> = (0..16).map(|_| hostile_bytes(&mut rng, &corpus)).collect();
        figures.sessions += batch.len();
        for session in &batch {
            figures.bytes += session.len();
            figures.messages += count_messages(session);
        }
        let replies =
            futures::future::join_all(batch.into_iter().map(|bytes| throw(port, bytes))).await;
        figures.answered += replies.iter().filter(|n| **n > 0).count();
        figures.peak_rss_mib = figures.peak_rss_mib.max(rss_mib());
    }
    done.store(true, Ordering::SeqCst);
    let (ok, slowest) = healthy.await.expect("healthy client task");
    figures.healthy_queries = ok;
    figures.slowest = slowest;
    figures.contained = contained.load(Ordering::SeqCst);
    eprintln!("seed {seed}: {figures:?}");
    assert!(ok > 10, "the healthy client ran only {ok} queries");
    assert!(
        slowest < Duration::from_secs(5),
        "seed {seed}: a healthy query took {slowest:?}"
    );
    assert!(
        figures.answered > figures.sessions / 2,
        "seed {seed}: most sessions get an answer"
    );
    assert_eq!(
        panics.load(Ordering::SeqCst),
        0,
        "seed {seed}: a task panicked"
    );
    let fresh = server.client().await;
    fresh
        .simple_query("SELECT 1")
        .await
        .expect("a new client connects");
    server.stop().await;
    figures
}

/// Messages in a session's bytes, by their framing as sent (lies included).
fn count_messages(bytes: &[u8]) -> usize {
    let Some(first) = bytes.get(..4) else {
        return 0;
    };
    let mut i = i32::from_be_bytes([first[0], first[1], first[2], first[3]]).max(4) as usize;
    let mut n = 1;
    while i + 5 <= bytes.len() {
        let len = i32::from_be_bytes([bytes[i + 1], bytes[i + 2], bytes[i + 3], bytes[i + 4]]);
        n += 1;
        i += 1 + usize::try_from(len).unwrap_or(4).max(4);
    }
    n
}

fn seed() -> u64 {
    std::env::var("STAGESQL_FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5eed_5a6e_c0de)
}

/// The short, seeded run in the default test command.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thousands_of_mutated_messages_while_a_client_queries() {
    let sessions: usize = std::env::var("STAGESQL_FUZZ_SESSIONS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(800);
    let figures = fuzz(seed(), Volume::Sessions(sessions)).await;
    assert!(figures.messages > 3_000, "{figures:?}");
}

/// The long run, for minutes (`STAGESQL_FUZZ_SECONDS`, default 300):
/// `cargo test -p stagesql-tests --test fuzz -- --ignored --nocapture`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "runs for minutes; see the README"]
async fn fuzz_for_minutes() {
    let seconds: u64 = std::env::var("STAGESQL_FUZZ_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(300);
    let figures = fuzz(seed(), Volume::For(Duration::from_secs(seconds))).await;
    println!(
        "fuzzed {} sessions, {} messages, {} MB in {seconds} s; {} answered; {} decoder panics contained; healthy client {} queries, slowest {:?}; peak RSS {} MiB",
        figures.sessions,
        figures.messages,
        figures.bytes / 1_000_000,
        figures.answered,
        figures.contained,
        figures.healthy_queries,
        figures.slowest,
        figures.peak_rss_mib
    );
}
