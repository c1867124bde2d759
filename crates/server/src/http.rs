//! The operator's HTTP listener: `/healthz` (the process is up), `/readyz` (a snapshot is
//! being served; 503 before the first one) and `/metrics` (Prometheus text format).
//!
//! It listens on its own address (`http.listen`, loopback by default) and stops with the
//! server's shutdown token. [`get`] is the small client `stagesql healthcheck` asks it with
//! (the slim container image has no curl).

use std::convert::Infallible;
use std::sync::{Arc, OnceLock};

use http_body_util::Full;
use hyper::body::Bytes;
use hyper::{Request, Response, StatusCode};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use stagesql_catalog::SnapshotStore;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// Bucket bounds (seconds) of every `*_duration_seconds` histogram: from a cached point
/// lookup (well under a millisecond) to a slow crawl of a large partition (minutes).
const DURATION_BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
    60.0, 120.0, 300.0,
];

/// The process-wide Prometheus recorder (metrics macros anywhere in the process report to it).
pub fn recorder() -> Option<PrometheusHandle> {
    static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let installed = PrometheusBuilder::new()
                .set_buckets_for_metric(
                    Matcher::Suffix("_duration_seconds".to_owned()),
                    DURATION_BUCKETS,
                )
                .and_then(PrometheusBuilder::install_recorder);
            match installed {
                Ok(handle) => {
                    describe();
                    Some(handle)
                }
                Err(e) => {
                    tracing::warn!(cause = %e, "cannot install the metrics recorder; /metrics is empty");
                    None
                }
            }
        })
        .clone()
}

/// Every metric the process reports, with its help text: the one list an operator reads
/// (the README's "Operating" section repeats it).
fn describe() {
    use metrics::{Unit, describe_counter, describe_gauge, describe_histogram};
    describe_gauge!("stagesql_connections_open", "Client connections open now.");
    describe_counter!(
        "stagesql_connections_total",
        "Client connections accepted (TLS negotiated)."
    );
    describe_counter!(
        "stagesql_statements_total",
        "Statements run (a simple Query, an Execute, or a Parse/Bind/Describe that failed), by protocol, outcome and the SQLSTATE class of the first error (00 when ok)."
    );
    describe_histogram!(
        "stagesql_statement_duration_seconds",
        Unit::Seconds,
        "Time from receiving a Query or Execute to its last row or error."
    );
    describe_counter!(
        "stagesql_errors_total",
        "Errors sent to clients, by SQLSTATE class."
    );
    describe_counter!(
        "stagesql_rows_sent_total",
        "Result rows sent to clients (COPY included)."
    );
    describe_gauge!(
        "stagesql_snapshot_stages",
        "Stages in the snapshot being served."
    );
    describe_gauge!(
        "stagesql_snapshot_age_seconds",
        Unit::Seconds,
        "Time since the snapshot being served was built."
    );
    describe_gauge!(
        "stagesql_snapshot_version",
        "Version of the snapshot being served (rises on every publish)."
    );
    describe_counter!(
        "stagesql_refreshes_total",
        "Refreshes, by outcome: ok, partial (some partitions failed and kept their last good rows), not_published (nothing has succeeded yet)."
    );
    describe_histogram!(
        "stagesql_refresh_duration_seconds",
        Unit::Seconds,
        "Time one refresh of every partition took."
    );
    describe_gauge!(
        "stagesql_refresh_last_success_timestamp_seconds",
        Unit::Seconds,
        "Unix time of the last refresh in which every partition succeeded."
    );
    describe_counter!(
        "stagesql_partition_refreshes_total",
        "Partition crawls, by account_id, region and status (ok, partial, failed)."
    );
    describe_histogram!(
        "stagesql_partition_refresh_duration_seconds",
        Unit::Seconds,
        "Time one (account, region) crawl took."
    );
    describe_gauge!(
        "stagesql_partition_stages",
        "Stages each (account, region) contributes to the snapshot."
    );
    describe_counter!(
        "stagesql_aws_attempts_total",
        "HTTP attempts to AWS, retries included, by account_id and region."
    );
    describe_counter!(
        "stagesql_aws_retries_total",
        "AWS attempts that were retries of an earlier attempt."
    );
    describe_counter!(
        "stagesql_aws_throttled_total",
        "AWS attempts answered 429 (throttled)."
    );
    describe_counter!(
        "stagesql_snapshot_writes_total",
        "Writes of the persisted snapshot, by outcome (ok, error)."
    );
    describe_histogram!(
        "stagesql_snapshot_write_duration_seconds",
        Unit::Seconds,
        "Time one write of the persisted snapshot took."
    );
    describe_counter!(
        "stagesql_store_publishes_total",
        "Publishes to the snapshot store ([publish]), by outcome: ok, unchanged (the manifest already names these bytes), superseded (another crawler published later data), conflict (the manifest changed while publishing; retried), error (retried)."
    );
    describe_histogram!(
        "stagesql_store_publish_duration_seconds",
        Unit::Seconds,
        "Time one publish (encode, upload, manifest) took."
    );
    describe_counter!(
        "stagesql_store_objects_deleted_total",
        "Old snapshot objects the publisher deleted (beyond publish.retain and publish.grace_seconds)."
    );
    describe_counter!(
        "stagesql_store_polls_total",
        "A replica's manifest checks, by outcome: unchanged, applied (a new snapshot is served), refused (corrupt or truncated; the last good one stays), error (the store could not be read)."
    );
    describe_histogram!(
        "stagesql_store_poll_duration_seconds",
        Unit::Seconds,
        "Time one manifest check (and download, when there is a new snapshot) took."
    );
    describe_gauge!(
        "stagesql_store_last_success_timestamp_seconds",
        Unit::Seconds,
        "Unix time of the last successful publish (crawler) or manifest check (replica)."
    );
    describe_gauge!(
        "stagesql_store_lag_seconds",
        Unit::Seconds,
        "Replica: seconds from the crawler's publish of the served snapshot to this replica serving it."
    );
}

/// The `/readyz` URL of a server whose `http.listen` is `listen`, as seen from the same host
/// (an unspecified address such as `0.0.0.0` is asked on loopback); `None` when it is off.
pub fn readyz_url(listen: &str) -> Option<String> {
    let (host, port) = listen.rsplit_once(':')?;
    let host = match host.trim_start_matches('[').trim_end_matches(']') {
        "" | "0.0.0.0" | "*" => "127.0.0.1".to_owned(),
        "::" => "[::1]".to_owned(),
        h if h.contains(':') => format!("[{h}]"),
        h => h.to_owned(),
    };
    Some(format!("http://{host}:{port}/readyz"))
}

/// GETs an `http://HOST:PORT/PATH` URL (what `stagesql healthcheck` asks): the status and the
/// body, within five seconds.
pub async fn get(url: &str) -> Result<(u16, String), String> {
    use http_body_util::BodyExt;
    let uri: hyper::Uri = url.parse().map_err(|e| format!("not a URL: {e}"))?;
    if uri.scheme_str() != Some("http") {
        return Err("only http:// URLs can be asked".to_owned());
    }
    let authority = uri.authority().ok_or("the URL has no host")?.clone();
    let port = authority.port_u16().unwrap_or(80);
    let host = authority
        .host()
        .trim_start_matches('[')
        .trim_end_matches(']');
    let ask = async {
        let stream = tokio::net::TcpStream::connect((host, port))
            .await
            .map_err(|e| format!("cannot connect: {e}"))?;
        let (mut sender, conn) =
            hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
                .await
                .map_err(|e| e.to_string())?;
        let driver = tokio::spawn(conn);
        let request = Request::get(uri.path_and_query().map_or("/", |p| p.as_str()))
            .header(hyper::header::HOST, authority.as_str())
            .body(Full::new(Bytes::new()))
            .map_err(|e| e.to_string())?;
        let response = sender
            .send_request(request)
            .await
            .map_err(|e| e.to_string())?;
        let status = response.status().as_u16();
        let body = response
            .into_body()
            .collect()
            .await
            .map_err(|e| e.to_string())?
            .to_bytes();
        driver.abort();
        Ok((status, String::from_utf8_lossy(&body).into_owned()))
    };
    tokio::time::timeout(std::time::Duration::from_secs(5), ask)
        .await
        .map_err(|_| "no answer within 5 s".to_owned())?
}

/// Serves the operator endpoints on `listener` until `shutdown`.
pub async fn serve(listener: TcpListener, store: Arc<SnapshotStore>, shutdown: CancellationToken) {
    let handle = recorder();
    let tracker = TaskTracker::new();
    loop {
        let (stream, _) = tokio::select! {
            () = shutdown.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(e) => {
                    tracing::warn!(cause = %e, "metrics listener: accept failed");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let (store, handle, stop) = (Arc::clone(&store), handle.clone(), shutdown.clone());
        tracker.spawn(async move {
            let service = hyper::service::service_fn(move |req| {
                let (store, handle) = (Arc::clone(&store), handle.clone());
                async move { Ok::<_, Infallible>(answer(&req, &store, handle.as_ref())) }
            });
            let conn = hyper::server::conn::http1::Builder::new()
                .serve_connection(hyper_util::rt::TokioIo::new(stream), service);
            tokio::select! {
                r = conn => if let Err(e) = r {
                    tracing::debug!(cause = %e, "metrics connection ended with an error");
                },
                () = stop.cancelled() => {}
            }
        });
    }
    tracker.close();
    tracker.wait().await;
}

fn answer<B>(
    req: &Request<B>,
    store: &SnapshotStore,
    handle: Option<&PrometheusHandle>,
) -> Response<Full<Bytes>> {
    let reply = |status: StatusCode, content_type: &str, body: String| {
        let mut r = Response::new(Full::new(Bytes::from(body)));
        *r.status_mut() = status;
        if let Ok(v) = content_type.parse() {
            r.headers_mut().insert(hyper::header::CONTENT_TYPE, v);
        }
        r
    };
    if req.method() != hyper::Method::GET {
        return reply(
            StatusCode::METHOD_NOT_ALLOWED,
            "text/plain",
            "GET only\n".into(),
        );
    }
    match req.uri().path() {
        "/healthz" => reply(StatusCode::OK, "text/plain", "ok\n".into()),
        "/readyz" => match store.current() {
            Some(s) => reply(
                StatusCode::OK,
                "text/plain",
                format!("ready: snapshot {} with {} stages\n", s.version(), s.len()),
            ),
            None => reply(
                StatusCode::SERVICE_UNAVAILABLE,
                "text/plain",
                "not ready: no snapshot yet (the first crawl is running)\n".into(),
            ),
        },
        "/metrics" => {
            if let Some(s) = store.current() {
                metrics::gauge!("stagesql_snapshot_stages").set(s.len() as f64);
                let age = chrono::Utc::now() - s.built_at();
                metrics::gauge!("stagesql_snapshot_age_seconds")
                    .set(age.num_milliseconds() as f64 / 1000.0);
                metrics::gauge!("stagesql_snapshot_version").set(s.version() as f64);
            }
            let body = handle.map(PrometheusHandle::render).unwrap_or_default();
            reply(StatusCode::OK, "text/plain; version=0.0.4", body)
        }
        _ => reply(StatusCode::NOT_FOUND, "text/plain", "not found\n".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::readyz_url;

    #[test]
    fn readyz_is_asked_where_the_listener_is_reachable_from_the_same_host() {
        assert_eq!(
            readyz_url("0.0.0.0:9187").as_deref(),
            Some("http://127.0.0.1:9187/readyz")
        );
        assert_eq!(
            readyz_url("[::]:9187").as_deref(),
            Some("http://[::1]:9187/readyz")
        );
        assert_eq!(
            readyz_url("[::1]:80").as_deref(),
            Some("http://[::1]:80/readyz")
        );
        assert_eq!(
            readyz_url("10.1.2.3:9000").as_deref(),
            Some("http://10.1.2.3:9000/readyz")
        );
        assert_eq!(readyz_url(""), None);
    }
}
