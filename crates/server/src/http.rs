//! The operator's HTTP listener: `/healthz` (the process is up), `/readyz` (a snapshot is
//! being served; 503 before the first one) and `/metrics` (Prometheus text format).
//!
//! It listens on its own address (`http.listen`, loopback by default) and stops with the
//! server's shutdown token.

use std::convert::Infallible;
use std::sync::{Arc, OnceLock};

use http_body_util::Full;
use hyper::body::Bytes;
use hyper::{Request, Response, StatusCode};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use stagesql_catalog::SnapshotStore;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// The process-wide Prometheus recorder (metrics macros anywhere in the process report to it).
pub fn recorder() -> Option<PrometheusHandle> {
    static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();
    HANDLE
        .get_or_init(|| match PrometheusBuilder::new().install_recorder() {
            Ok(handle) => Some(handle),
            Err(e) => {
                tracing::warn!(cause = %e, "cannot install the metrics recorder; /metrics is empty");
                None
            }
        })
        .clone()
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
                format!(
                    "ready: snapshot {} with {} stages\n",
                    s.version(),
                    s.rows().len()
                ),
            ),
            None => reply(
                StatusCode::SERVICE_UNAVAILABLE,
                "text/plain",
                "not ready: no snapshot yet (the first crawl is running)\n".into(),
            ),
        },
        "/metrics" => {
            if let Some(s) = store.current() {
                metrics::gauge!("stagesql_snapshot_stages").set(s.rows().len() as f64);
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
