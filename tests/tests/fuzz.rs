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

/// One hostile session: startup (sometimes mutated) then a run of valid, mutated and random
/// messages, sometimes out of order.
fn hostile_bytes(rng: &mut Rng, corpus: &[Vec<u8>]) -> Vec<u8> {
    let mut out = startup();
    if rng.below(8) == 0 {
        mutate(rng, &mut out);
    }
    for _ in 0..1 + rng.below(12) {
        let mut m = match rng.below(10) {
            0 => (0..rng.below(40)).map(|_| rng.byte()).collect(),
            1 => message(
                rng.byte(),
                &(0..rng.below(20)).map(|_| rng.byte()).collect::<Vec<_>>(),
            ),
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thousands_of_mutated_messages_while_a_client_queries() {
    let seed: u64 = std::env::var("STAGESQL_FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5eed_5a6e_c0de);
    let sessions: usize = std::env::var("STAGESQL_FUZZ_SESSIONS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(600);
    // Any panic anywhere in the process (a connection task included) is a failure, except
    // those contained while decoding a client's bytes (pgwire's Bind/Parse decoders over-read
    // on lying counts; the server ends that connection with 08P01). Those are counted.
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
    let mut messages = 0usize;
    let mut answered = 0usize;
    let batches: Vec<Vec<Vec<u8>>> = (0..sessions)
        .map(|_| hostile_bytes(&mut rng, &corpus))
        .collect::<Vec<_>>()
        .chunks(16)
        .map(<[Vec<u8>]>::to_vec)
        .collect();
    for batch in batches {
        messages += batch.len();
        let replies =
            futures::future::join_all(batch.into_iter().map(|bytes| throw(port, bytes))).await;
        answered += replies.iter().filter(|n| **n > 0).count();
    }
    done.store(true, Ordering::SeqCst);
    let (ok, slowest) = healthy.await.expect("healthy client task");
    eprintln!(
        "seed {seed}: {messages} hostile sessions, {answered} answered, {} decoder panics contained; healthy client: {ok} queries, slowest {slowest:?}",
        contained.load(Ordering::SeqCst)
    );
    assert!(ok > 10, "the healthy client ran only {ok} queries");
    assert!(
        slowest < Duration::from_secs(5),
        "seed {seed}: a healthy query took {slowest:?}"
    );
    assert!(
        answered > messages / 2,
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
}
