//! Scaling out on moto_server's S3: a crawler publishes snapshots to the store, replicas serve
//! exactly its rows and follow its changes, survive the store (and the crawler) going away,
//! refuse corrupt objects, and two crawlers at once never leave a torn manifest.
//! (`load_balancer.rs`: the same through a real HAProxy.)

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use stagesql_catalog::SnapshotStore;
use stagesql_server::SourceKind;
use stagesql_server::replication::manifest::{FORMAT, Manifest, object_key, sha256_hex};
use stagesql_server::replication::publisher::{self, Published, Retention};
use stagesql_server::replication::store::ManifestRead;
use stagesql_server::replication::{Store, StoreError, StoreOptions};
use stagesql_tests::TestServer;
use stagesql_tests::cluster::*;
use stagesql_tests::moto::Moto;
use tokio_postgres::Client;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_replicas_serve_the_crawlers_rows_follow_changes_and_outlive_the_store() {
    let moto = Moto::start();
    moto.create_bucket(BUCKET);
    let url = format!("s3://{BUCKET}/inventory");
    let (apis, api) = moto_api(&moto).await;
    add_stage(&apis, &api, "prod").await;
    add_stage(&apis, &api, "dev").await;

    let crawler = TestServer::start_with(crawler_config(&moto, &url)).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let mut first_config = replica_config(&moto.url(), &url);
    first_config.source.snapshot_path = Some(dir.path().join("replica.arrow"));
    let first = TestServer::start_with(first_config.clone()).await;
    let second = TestServer::start_with(replica_config(&moto.url(), &url)).await;
    let (c, r1, r2) = (
        crawler.client().await,
        first.client().await,
        second.client().await,
    );
    let two: BTreeSet<String> = ["dev", "prod"].map(str::to_owned).into();
    wait_until(
        Duration::from_secs(30),
        "the crawler's two stages",
        || async { stage_names(&c).await.as_ref() == Some(&two) },
    )
    .await;
    for replica in [&r1, &r2] {
        wait_until(
            Duration::from_secs(30),
            "a replica serving the crawler's rows",
            || async { text_rows(replica, ALL_ROWS).await == text_rows(&c, ALL_ROWS).await },
        )
        .await;
    }
    // Every column of every row, and the crawler's per-partition statuses.
    let statuses = "SELECT account_id, region, status, stage_count::text FROM stagesql.refresh_status ORDER BY 1, 2";
    let want = text_rows(&c, statuses).await.expect("statuses");
    assert!(want.iter().any(|r| r[1].as_deref() == Some("us-east-1")));
    for replica in [&r1, &r2] {
        assert_eq!(text_rows(replica, statuses).await.expect("statuses"), want);
        let status = snapshot_status(replica).await;
        assert_eq!(status[0].as_deref(), Some("replica"));
        assert!(status[1].is_some(), "the store's version is shown");
        assert_eq!(status[2], None, "no store error");
        assert!(
            status[4].is_some(),
            "the lag from publish to serving is shown"
        );
    }
    assert_eq!(snapshot_status(&c).await[0].as_deref(), Some("publisher"));

    // A change in AWS reaches both replicas within one refresh plus one poll.
    add_stage(&apis, &api, "canary").await;
    let changed = Instant::now();
    let three: BTreeSet<String> = ["canary", "dev", "prod"].map(str::to_owned).into();
    for replica in [&r1, &r2] {
        wait_until(
            Duration::from_secs(30),
            "the new stage on a replica",
            || async { stage_names(replica).await.as_ref() == Some(&three) },
        )
        .await;
    }
    let took = changed.elapsed();
    // Refresh every 1 s (+10% jitter), one crawl, one 1 s poll: well under 8 s.
    assert!(
        took < Duration::from_secs(8),
        "the change took {took:?} to reach both replicas"
    );
    let served = text_rows(&r1, ALL_ROWS).await.expect("rows");
    assert_eq!(served.len(), 3);
    for replica in [&r1, &r2] {
        let version: u64 = snapshot_status(replica).await[1]
            .as_deref()
            .expect("version")
            .parse()
            .expect("number");
        assert!(
            version >= 2,
            "the replica shows the store version it serves"
        );
    }
    assert_eq!(text_rows(&r2, ALL_ROWS).await.expect("rows"), served);

    // The store (and AWS) go away: both replicas keep serving and say why they are stale.
    moto.stop();
    for replica in [&r1, &r2] {
        let start = Instant::now();
        while snapshot_status(replica).await[2].is_none() {
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "no store error reported: {:?}",
                snapshot_status(replica).await
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert_eq!(text_rows(replica, ALL_ROWS).await.expect("rows"), served);
    }
    for server in [&first, &second] {
        let ready = format!("http://{}/readyz", server.http_addr().expect("http"));
        let (code, _) = stagesql_server::http::get(&ready).await.expect("readyz");
        assert_eq!(code, 200, "a replica that has served stays ready");
    }
    // A replica restarted while the store is gone serves its local copy.
    drop((r1, r2, c));
    first.stop().await;
    let restarted = TestServer::start_with(first_config).await;
    let r1 = restarted.client().await;
    assert_eq!(text_rows(&r1, ALL_ROWS).await.expect("rows"), served);
    assert_eq!(snapshot_status(&r1).await[3].as_deref(), Some("true"));
    restarted.stop().await;
    second.stop().await;
    crawler.stop().await;
}

/// Replaces the manifest with one naming `key` (holding `bytes`) as if its object were
/// `claimed` (the checksum and size a correct upload would have had).
async fn forge_manifest(store: &Store, key: &str, bytes: Bytes, claimed: &[u8], stages: u64) {
    store.put_new(&store.key(key), bytes).await.expect("object");
    let ManifestRead::Found {
        bytes: current,
        etag,
    } = store.read_manifest(None).await.expect("read")
    else {
        panic!("no manifest");
    };
    let version = Manifest::parse(&current).map_or(1, |m| m.version + 1);
    let manifest = Manifest {
        format: FORMAT,
        version,
        key: key.to_owned(),
        sha256: sha256_hex(claimed),
        size: claimed.len() as u64,
        stage_count: stages,
        built_at: chrono::Utc::now(),
        published_at: chrono::Utc::now(),
        publisher: "test".to_owned(),
        partitions: Vec::new(),
        history: Vec::new(),
    };
    store
        .replace_manifest(Bytes::from(manifest.to_bytes()), etag.as_deref())
        .await
        .expect("manifest");
}

async fn store_error(client: &Client) -> Option<String> {
    snapshot_status(client).await.remove(2)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn corrupt_truncated_or_unreadable_snapshots_are_refused_and_the_last_good_one_kept() {
    let moto = Moto::start();
    moto.create_bucket(BUCKET);
    let url = format!("s3://{BUCKET}/corrupt");
    let store = Store::open(&store_options(&moto, &url))
        .await
        .expect("open");
    let crawler = SnapshotStore::new();
    let retention = Retention {
        retain: 2,
        grace: Duration::from_secs(600),
    };
    let all = crawler.publish(demo_rows());
    let published = publisher::publish(&store, &all, &crawler, retention, &mut None)
        .await
        .expect("publish");
    assert_eq!(published, Published::New { version: 1 });
    let replica = TestServer::start_with(replica_config(&moto.url(), &url)).await;
    let client = replica.client().await;
    let total = all.len().to_string();
    wait_until(Duration::from_secs(20), "the first snapshot", || async {
        count(&client).await.as_deref() == Some(total.as_str())
    })
    .await;

    let three = crawler.publish(demo_rows().into_iter().take(3).collect());
    let good = stagesql_engine::persist::encode_snapshot(&three).expect("encode");
    let mut flipped = good.clone();
    let middle = flipped.len() / 2;
    flipped[middle] ^= 0xff;
    let cases: [(&str, Bytes, &str); 2] = [
        ("snapshots/flipped.arrow", Bytes::from(flipped), "SHA-256"),
        (
            "snapshots/truncated.arrow",
            Bytes::copy_from_slice(&good[..good.len() / 2]),
            "truncated",
        ),
    ];
    for (key, bytes, why) in cases {
        forge_manifest(&store, key, bytes, &good, 3).await;
        let start = Instant::now();
        loop {
            let error = store_error(&client).await;
            if error.as_deref().is_some_and(|e| e.contains(why)) {
                break;
            }
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "no {why} error; the replica says {error:?}: {:?}",
                snapshot_status(&client).await
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert_eq!(
            count(&client).await.as_deref(),
            Some(total.as_str()),
            "the last good snapshot is still served"
        );
    }
    // A manifest that is not one.
    let ManifestRead::Found { etag, .. } = store.read_manifest(None).await.expect("read") else {
        panic!("no manifest");
    };
    store
        .replace_manifest(Bytes::from_static(b"{not json"), etag.as_deref())
        .await
        .expect("garbage");
    wait_until(
        Duration::from_secs(20),
        "the garbage manifest refused",
        || async {
            store_error(&client)
                .await
                .is_some_and(|e| e.contains("manifest is not valid"))
        },
    )
    .await;
    assert_eq!(count(&client).await.as_deref(), Some(total.as_str()));

    // The next good publish is served, and the error clears.
    let published = publisher::publish(&store, &three, &crawler, retention, &mut None)
        .await
        .expect("publish");
    assert!(matches!(published, Published::New { .. }));
    wait_until(Duration::from_secs(20), "the good snapshot", || async {
        count(&client).await.as_deref() == Some("3")
    })
    .await;
    assert_eq!(store_error(&client).await, None);
    replica.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_crawlers_publishing_at_once_leave_a_manifest_that_names_a_complete_snapshot() {
    let moto = Moto::start();
    moto.create_bucket(BUCKET);
    let url = format!("s3://{BUCKET}/race");
    let store = Store::open(&store_options(&moto, &url))
        .await
        .expect("open");
    let retention = Retention {
        retain: 100,
        grace: Duration::from_secs(600),
    };
    let rows = demo_rows();
    let crawler = |skip: usize| {
        let store = store.clone();
        let rows = rows.clone();
        tokio::spawn(async move {
            let local = SnapshotStore::new();
            let (mut new, mut conflicts, mut superseded) = (0, 0, 0);
            for round in 0..12 {
                // Distinct contents per crawler and round.
                let take = rows.len() - (round % 3) - skip;
                let snapshot = local.publish(rows.iter().take(take).cloned().collect());
                match publisher::publish(&store, &snapshot, &local, retention, &mut None).await {
                    Ok(Published::New { .. }) => new += 1,
                    Ok(Published::Superseded { .. } | Published::Unchanged { .. }) => {
                        superseded += 1
                    }
                    Err(StoreError::Conflict(_)) => conflicts += 1,
                    Err(e) => panic!("publish failed: {e}"),
                }
            }
            (new, conflicts, superseded)
        })
    };
    // Meanwhile a replica's view: every manifest read names a whole object.
    let seen = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let checker = {
        let (store, seen) = (store.clone(), Arc::clone(&seen));
        tokio::spawn(async move {
            let mut last = 0;
            loop {
                if let ManifestRead::Found { bytes, .. } =
                    store.read_manifest(None).await.expect("read")
                {
                    let m = Manifest::parse(&bytes).expect("always a whole manifest");
                    let object = store
                        .get_snapshot(&store.key(&m.key))
                        .await
                        .expect("object");
                    assert_eq!(sha256_hex(&object), m.sha256, "names a complete object");
                    assert_eq!(object.len() as u64, m.size);
                    assert!(m.version >= last, "versions never go back");
                    last = m.version;
                    seen.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        })
    };
    let (a, b) = (crawler(0), crawler(4));
    let (a, b) = (a.await.expect("a"), b.await.expect("b"));
    checker.abort();
    if let Err(e) = checker.await
        && e.is_panic()
    {
        std::panic::resume_unwind(e.into_panic());
    }
    assert!(seen.load(std::sync::atomic::Ordering::Relaxed) > 0);
    let ManifestRead::Found { bytes, .. } = store.read_manifest(None).await.expect("read") else {
        panic!("no manifest");
    };
    let last = Manifest::parse(&bytes).expect("manifest");
    let object = store
        .get_snapshot(&store.key(&last.key))
        .await
        .expect("object");
    assert_eq!(sha256_hex(&object), last.sha256);
    let persisted = stagesql_engine::persist::decode_snapshot(&object, "last").expect("decode");
    assert_eq!(persisted.rows.len() as u64, last.stage_count);
    // Every successful publish got its own version: none was lost or written twice.
    assert_eq!(
        last.version,
        a.0 + b.0,
        "versions = publishes (a: {a:?}, b: {b:?})"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retention_deletes_only_objects_no_manifest_named_within_the_grace_period() {
    let moto = Moto::start();
    moto.create_bucket(BUCKET);
    let url = format!("s3://{BUCKET}/retention");
    let store = Store::open(&store_options(&moto, &url))
        .await
        .expect("open");
    let local = SnapshotStore::new();
    let rows = demo_rows();
    let long = Retention {
        retain: 2,
        grace: Duration::from_secs(3600),
    };
    for n in 0..6 {
        let snapshot = local.publish(rows.iter().skip(n).cloned().collect());
        publisher::publish(&store, &snapshot, &local, long, &mut None)
            .await
            .expect("publish");
    }
    store
        .put_new(
            &store.key("snapshots/orphan.arrow"),
            Bytes::from_static(b"x"),
        )
        .await
        .expect("orphan");
    assert_eq!(store.list_snapshots().await.expect("list").len(), 7);
    // Within the grace period nothing goes: every object was named (or written) recently.
    assert_eq!(publisher::clean_up(&store, long).await.expect("clean"), 0);
    // With no grace, what the manifest no longer protects (beyond 2 retained) goes, the
    // never-named orphan too.
    let none = Retention {
        retain: 2,
        grace: Duration::ZERO,
    };
    let snapshot = local.publish(rows.iter().skip(6).cloned().collect());
    publisher::publish(&store, &snapshot, &local, none, &mut None)
        .await
        .expect("publish");
    assert_eq!(publisher::clean_up(&store, none).await.expect("clean"), 5);
    let ManifestRead::Found { bytes, .. } = store.read_manifest(None).await.expect("read") else {
        panic!("no manifest");
    };
    let manifest = Manifest::parse(&bytes).expect("manifest");
    let mut left: Vec<String> = store
        .list_snapshots()
        .await
        .expect("list")
        .into_iter()
        .map(|m| m.location.to_string())
        .collect();
    left.sort();
    let mut protected: Vec<String> = manifest
        .protected()
        .map(|k| store.key(k).to_string())
        .collect();
    protected.sort();
    assert_eq!(left, protected, "exactly the current and the 2 retained");
    assert_eq!(left.len(), 3);
    assert!(
        manifest
            .key
            .starts_with(&object_key(7, &manifest.sha256)[..22])
    );
}

#[tokio::test]
async fn a_local_directory_store_replaces_its_manifest_only_from_the_version_read() {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("file://{}", dir.path().join("store").display());
    let store = Store::open(&StoreOptions {
        url: url.clone(),
        timeout: Duration::from_secs(5),
        ..StoreOptions::default()
    })
    .await
    .expect("open");
    let first = store
        .replace_manifest(Bytes::from_static(b"a"), None)
        .await
        .expect("create");
    assert!(matches!(
        store.replace_manifest(Bytes::from_static(b"b"), None).await,
        Err(StoreError::Conflict(_))
    ));
    store
        .replace_manifest(Bytes::from_static(b"c"), first.as_deref())
        .await
        .expect("update");
    assert!(matches!(
        store
            .replace_manifest(Bytes::from_static(b"d"), first.as_deref())
            .await,
        Err(StoreError::Conflict(_))
    ));
    // A crawler's snapshot through the directory reaches a replica.
    let local = SnapshotStore::new();
    let snapshot = local.publish(demo_rows());
    // The forged "c" manifest is unreadable and is replaced (guarded by its ETag).
    publisher::publish(
        &store,
        &snapshot,
        &local,
        Retention {
            retain: 1,
            grace: Duration::ZERO,
        },
        &mut None,
    )
    .await
    .expect("publish");
    let mut config = stagesql_tests::trust_config();
    config.source.kind = SourceKind::Replica;
    config.source.url = Some(url);
    config.source.poll_interval_seconds = 1;
    let replica = TestServer::start_with(config).await;
    let client = replica.client().await;
    let total = snapshot.len().to_string();
    wait_until(
        Duration::from_secs(20),
        "the replica on a directory",
        || async { count(&client).await.as_deref() == Some(total.as_str()) },
    )
    .await;
    replica.stop().await;
}

/// A free port below the kernel's ephemeral range (32768 and up), so that no outgoing
/// connection (HAProxy's to the other replica, say) can take it while a replica restarts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crawler_starting_without_a_snapshot_serves_the_stores_until_its_first_crawl() {
    use stagesql_tests::aws_stub::{AwsStub, StubRegion, StubState};
    let moto = Moto::start();
    moto.create_bucket(BUCKET);
    let stub = AwsStub::start(StubState {
        regions: [("us-east-1".to_owned(), StubRegion::one_api(3))].into(),
        page_size: 10,
        account: "123456789012".into(),
        ..Default::default()
    })
    .await;
    let url = format!("s3://{BUCKET}/bootstrap");
    let mut config = stagesql_tests::aws_source_config(stub.url(), &["us-east-1"]);
    config.source.refresh_interval_seconds = 3600;
    config.source.max_attempts = 1;
    config.source.attempt_timeout_seconds = 1;
    config.publish.url = Some(url.clone());
    config.publish.endpoint_url = Some(moto.url());
    let first = TestServer::start_with(config.clone()).await;
    let store = Store::open(&store_options(&moto, &url))
        .await
        .expect("open");
    wait_until(
        Duration::from_secs(30),
        "the first crawler's publish",
        || async {
            matches!(
                store.read_manifest(None).await,
                Ok(ManifestRead::Found { .. })
            )
        },
    )
    .await;
    let published = text_rows(&first.client().await, ALL_ROWS)
        .await
        .expect("rows");
    assert_eq!(published.len(), 3);
    first.stop().await;

    // A crawler on a new host (no snapshot file) whose first crawl cannot reach API Gateway.
    stub.state().hang_next = 1_000_000;
    let second = TestServer::start_with(config).await;
    let client = second.client().await;
    wait_until(
        Duration::from_secs(20),
        "the store's rows on the new crawler",
        || async { text_rows(&client, ALL_ROWS).await.as_ref() == Some(&published) },
    )
    .await;
    assert_eq!(
        snapshot_status(&client).await[3].as_deref(),
        Some("true"),
        "stale until its own first crawl"
    );
    second.stop().await;
}
