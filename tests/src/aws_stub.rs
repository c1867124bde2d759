//! A small local stand-in for the API Gateway v2 and STS endpoints, for what moto cannot do:
//! multi-page answers, the fields moto never returns, and failures on demand.
//!
//! It speaks just enough HTTP/1.1 for the AWS SDK: keep-alive, Content-Length bodies. The region
//! of each request is read from its SigV4 credential scope.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

/// One API and its stages (GetStages items, camelCase JSON).
#[derive(Debug, Clone)]
pub struct StubApi {
    /// apiId.
    pub id: String,
    /// The stages.
    pub stages: Vec<Value>,
    /// Answer GetStages for this API with HTTP 500.
    pub fail_stages: bool,
}

/// One region's APIs.
#[derive(Debug, Clone, Default)]
pub struct StubRegion {
    /// The APIs, in listing order.
    pub apis: Vec<StubApi>,
    /// Answer GetApis in this region with HTTP 500.
    pub fail_apis: bool,
}

impl StubRegion {
    /// One API, `api0`, with `stages` minimal stages `s0`, `s1`, ….
    pub fn one_api(stages: usize) -> StubRegion {
        StubRegion {
            apis: vec![StubApi {
                id: "api0".into(),
                stages: (0..stages)
                    .map(|i| json!({"stageName": format!("s{i}"), "createdDate": "2026-11-25T09:38:48Z"}))
                    .collect(),
                fail_stages: false,
            }],
            fail_apis: false,
        }
    }
}

/// Everything the stub serves; change it between refreshes.
#[derive(Debug, Clone, Default)]
pub struct StubState {
    /// Regions by name.
    pub regions: BTreeMap<String, StubRegion>,
    /// Items per page (GetApis and GetStages).
    pub page_size: usize,
    /// The account STS reports.
    pub account: String,
    /// Requests answered, by kind: "sts", "apis", "stages", "throttled", "hung".
    pub calls: BTreeMap<String, usize>,
    /// Answer the next this-many API Gateway requests with 429 TooManyRequestsException.
    pub throttle_next: usize,
    /// Never answer the next this-many API Gateway requests.
    pub hang_next: usize,
    /// Wait this long before answering each API Gateway request (a remote region's latency).
    pub latency: std::time::Duration,
    /// API Gateway requests per second allowed per account (by access key id), as a token
    /// bucket with this many tokens of burst; above it, 429 TooManyRequestsException.
    pub rate_limit: Option<(f64, f64)>,
    /// Token buckets per access key id: (tokens, last refill).
    pub buckets: BTreeMap<String, (f64, std::time::Instant)>,
}

/// A running stub.
#[derive(Debug)]
pub struct AwsStub {
    addr: SocketAddr,
    state: Arc<Mutex<StubState>>,
}

impl AwsStub {
    /// Starts serving `state` on 127.0.0.1:0.
    pub async fn start(state: StubState) -> AwsStub {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind stub");
        let addr = listener.local_addr().expect("stub addr");
        let state = Arc::new(Mutex::new(state));
        let shared = Arc::clone(&state);
        tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                let state = Arc::clone(&shared);
                tokio::spawn(async move {
                    let _ = serve(socket, state).await;
                });
            }
        });
        AwsStub { addr, state }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The served state, to change or inspect.
    pub fn state(&self) -> MutexGuard<'_, StubState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

async fn serve(socket: tokio::net::TcpStream, state: Arc<Mutex<StubState>>) -> std::io::Result<()> {
    let (read, mut write) = socket.into_split();
    let mut reader = BufReader::new(read);
    loop {
        let mut request_line = String::new();
        if reader.read_line(&mut request_line).await? == 0 {
            return Ok(());
        }
        let mut content_length = 0usize;
        let mut authorization = String::new();
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).await?;
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            if let Some((name, value)) = line.split_once(':') {
                match name.to_ascii_lowercase().as_str() {
                    "content-length" => content_length = value.trim().parse().unwrap_or(0),
                    "authorization" => authorization = value.trim().to_owned(),
                    _ => {}
                }
            }
        }
        let mut body = vec![0; content_length];
        reader.read_exact(&mut body).await?;
        let mut parts = request_line.split_whitespace();
        let method = parts.next().unwrap_or_default().to_owned();
        let target = parts.next().unwrap_or_default().to_owned();
        let credential = authorization.split("Credential=").nth(1).unwrap_or("");
        let region = credential
            .split('/')
            .nth(2)
            .unwrap_or("us-east-1")
            .to_owned();
        let access_key = credential.split('/').next().unwrap_or("").to_owned();
        let (latency, throttled) = {
            let mut st = state.lock().unwrap_or_else(|p| p.into_inner());
            let throttled = method != "POST" && !take_token(&mut st, &access_key);
            (st.latency, throttled)
        };
        if method != "POST" && !latency.is_zero() {
            tokio::time::sleep(latency).await;
        }
        let (status, content_type, payload) = {
            let mut st = state.lock().unwrap_or_else(|p| p.into_inner());
            if throttled {
                *st.calls.entry("throttled".into()).or_default() += 1;
                (
                    429,
                    "application/json",
                    json!({"message": "Too Many Requests", "limitType": "stub"}).to_string(),
                )
            } else {
                answer(&mut st, &method, &target, &region)
            }
        };
        if status == 0 {
            // A hung request: hold the connection open without answering.
            tokio::time::sleep(std::time::Duration::from_secs(30)).await;
            return Ok(());
        }
        let reason = if status == 200 { "OK" } else { "Error" };
        let error_type = match status {
            429 => "x-amzn-ErrorType: TooManyRequestsException\r\n",
            404 => "x-amzn-ErrorType: NotFoundException\r\n",
            _ => "",
        };
        let head = format!(
            "HTTP/1.1 {status} {reason}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n{error_type}x-amzn-requestid: stub\r\n\r\n",
            payload.len()
        );
        write.write_all(head.as_bytes()).await?;
        write.write_all(payload.as_bytes()).await?;
    }
}

/// Takes a token from the account's bucket; false when it is empty (or always true without a
/// rate limit).
fn take_token(st: &mut StubState, access_key: &str) -> bool {
    let Some((rate, burst)) = st.rate_limit else {
        return true;
    };
    let now = std::time::Instant::now();
    let (tokens, last) = st
        .buckets
        .entry(access_key.to_owned())
        .or_insert((burst, now));
    *tokens = (*tokens + now.duration_since(*last).as_secs_f64() * rate).min(burst);
    *last = now;
    if *tokens >= 1.0 {
        *tokens -= 1.0;
        true
    } else {
        false
    }
}

fn answer(
    st: &mut StubState,
    method: &str,
    target: &str,
    region: &str,
) -> (u16, &'static str, String) {
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let token: usize = query
        .split('&')
        .find_map(|kv| kv.strip_prefix("nextToken="))
        .and_then(|t| t.trim_start_matches('p').parse().ok())
        .unwrap_or(0);
    if method == "POST" {
        *st.calls.entry("sts".into()).or_default() += 1;
        let xml = format!(
            "<GetCallerIdentityResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><GetCallerIdentityResult><Arn>arn:aws:iam::{0}:user/stub</Arn><UserId>AIDSTUB</UserId><Account>{0}</Account></GetCallerIdentityResult><ResponseMetadata><RequestId>stub</RequestId></ResponseMetadata></GetCallerIdentityResponse>",
            st.account
        );
        return (200, "text/xml", xml);
    }
    let server_error = (
        500,
        "application/json",
        json!({"message": "stub failure"}).to_string(),
    );
    if st.hang_next > 0 {
        st.hang_next -= 1;
        *st.calls.entry("hung".into()).or_default() += 1;
        return (0, "", String::new());
    }
    if st.throttle_next > 0 {
        st.throttle_next -= 1;
        *st.calls.entry("throttled".into()).or_default() += 1;
        return (
            429,
            "application/json",
            json!({"message": "Too Many Requests", "limitType": "stub"}).to_string(),
        );
    }
    let page_size = st.page_size.max(1);
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    let data = st.regions.get(region).cloned().unwrap_or_default();
    match segments.as_slice() {
        ["v2", "apis"] => {
            *st.calls.entry("apis".into()).or_default() += 1;
            if data.fail_apis {
                return server_error;
            }
            let items: Vec<Value> = data
                .apis
                .iter()
                .map(|a| json!({"apiId": a.id, "name": a.id, "protocolType": "HTTP"}))
                .collect();
            (200, "application/json", page(&items, token, page_size))
        }
        ["v2", "apis", id, "stages"] => {
            *st.calls.entry("stages".into()).or_default() += 1;
            match data.apis.iter().find(|a| a.id == *id) {
                None => (
                    404,
                    "application/json",
                    json!({"message": format!("Invalid API identifier specified {id}")})
                        .to_string(),
                ),
                Some(api) if api.fail_stages => server_error,
                Some(api) => (200, "application/json", page(&api.stages, token, page_size)),
            }
        }
        _ => (
            404,
            "application/json",
            json!({"message": "no route"}).to_string(),
        ),
    }
}

fn page(items: &[Value], start: usize, size: usize) -> String {
    let end = (start + size).min(items.len());
    let slice = items.get(start..end).unwrap_or(&[]);
    let mut body = json!({"items": slice});
    if end < items.len() {
        body["nextToken"] = json!(format!("p{end}"));
    }
    body.to_string()
}
