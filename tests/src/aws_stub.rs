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
    /// Opt-in status of regions DescribeRegions lists besides `regions` (which are
    /// `opt-in-not-required`), e.g. `("eu-south-2", "not-opted-in")`.
    pub opt_in: BTreeMap<String, String>,
    /// Answer DescribeRegions with UnauthorizedOperation.
    pub deny_describe_regions: bool,
    /// Accounts whose role AssumeRole refuses (AccessDenied), as a new account without the
    /// member role does.
    pub deny_assume: std::collections::BTreeSet<String>,
    /// The organization Organizations serves, if any.
    pub organization: Option<StubOrganization>,
    /// API Gateway requests being answered now, and the most there ever were at once.
    pub in_flight: usize,
    /// See `in_flight`.
    pub max_in_flight: usize,
}

/// An AWS organization: accounts under a root and OUs.
#[derive(Debug, Clone, Default)]
pub struct StubOrganization {
    /// (id, name, state, parent id): state `ACTIVE`, `SUSPENDED`, ...; parent `r-root` or an OU.
    pub accounts: Vec<(String, String, String, String)>,
    /// OU id → parent id.
    pub units: BTreeMap<String, String>,
    /// Answer every Organizations call with AccessDeniedException (not the management account).
    pub deny: bool,
}

impl StubOrganization {
    /// An active account directly under `parent`.
    pub fn add(&mut self, id: &str, parent: &str) {
        self.accounts.push((
            id.to_owned(),
            format!("account {id}"),
            "ACTIVE".to_owned(),
            parent.to_owned(),
        ));
    }
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
        let mut target_header = String::new();
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
                    "x-amz-target" => target_header = value.trim().to_owned(),
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
            if method != "POST" {
                st.in_flight += 1;
                st.max_in_flight = st.max_in_flight.max(st.in_flight);
            }
            (st.latency, throttled)
        };
        if method != "POST" && !latency.is_zero() {
            tokio::time::sleep(latency).await;
        }
        if method != "POST" {
            let mut st = state.lock().unwrap_or_else(|p| p.into_inner());
            st.in_flight -= 1;
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
            } else if method == "POST" {
                let body = String::from_utf8_lossy(&body);
                post(&mut st, &target_header, &body, &access_key)
            } else {
                answer(&mut st, &target, &region)
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
            400 if content_type == "application/x-amz-json-1.1" => {
                "x-amzn-ErrorType: AccessDeniedException\r\n"
            }
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

fn answer(st: &mut StubState, target: &str, region: &str) -> (u16, &'static str, String) {
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let token: usize = query
        .split('&')
        .find_map(|kv| kv.strip_prefix("nextToken="))
        .and_then(|t| t.trim_start_matches('p').parse().ok())
        .unwrap_or(0);
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

/// Percent-decoding of one form value.
fn form_value(body: &str, key: &str) -> Option<String> {
    let raw = body
        .split('&')
        .find_map(|kv| kv.strip_prefix(key)?.strip_prefix('='))?;
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("");
                out.push(u8::from_str_radix(hex, 16).unwrap_or(b'?'));
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    Some(String::from_utf8_lossy(&out).into_owned())
}

/// The account an access key belongs to: assumed-role keys are `ASIA` + the account id.
fn account_of(st: &StubState, access_key: &str) -> String {
    access_key
        .strip_prefix("ASIA")
        .filter(|id| id.len() == 12)
        .map_or_else(|| st.account.clone(), str::to_owned)
}

/// STS, EC2 (query protocol) and Organizations (JSON, by `X-Amz-Target`).
fn post(
    st: &mut StubState,
    target: &str,
    body: &str,
    access_key: &str,
) -> (u16, &'static str, String) {
    if let Some(op) = target.strip_prefix("AWSOrganizationsV20161128.") {
        return organizations(st, op, body);
    }
    match form_value(body, "Action").as_deref() {
        Some("AssumeRole") => {
            *st.calls.entry("assume".into()).or_default() += 1;
            let role = form_value(body, "RoleArn").unwrap_or_default();
            let account = role.split(':').nth(4).unwrap_or("").to_owned();
            if st.deny_assume.contains(&account) {
                let xml = format!(
                    "<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>User: arn:aws:iam::{}:user/stub is not authorized to perform: sts:AssumeRole on resource: {role}</Message></Error><RequestId>stub</RequestId></ErrorResponse>",
                    st.account
                );
                return (403, "text/xml", xml);
            }
            let xml = format!(
                "<AssumeRoleResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><AssumeRoleResult><Credentials><AccessKeyId>ASIA{account}</AccessKeyId><SecretAccessKey>stub</SecretAccessKey><SessionToken>stub</SessionToken><Expiration>2099-01-01T00:00:00Z</Expiration></Credentials><AssumedRoleUser><AssumedRoleId>AROASTUB:stagesql</AssumedRoleId><Arn>arn:aws:sts::{account}:assumed-role/stub/stagesql</Arn></AssumedRoleUser></AssumeRoleResult><ResponseMetadata><RequestId>stub</RequestId></ResponseMetadata></AssumeRoleResponse>"
            );
            (200, "text/xml", xml)
        }
        Some("DescribeRegions") => {
            *st.calls.entry("regions".into()).or_default() += 1;
            if st.deny_describe_regions {
                return (
                    403,
                    "text/xml",
                    "<Response><Errors><Error><Code>UnauthorizedOperation</Code><Message>You are not authorized to perform this operation.</Message></Error></Errors><RequestID>stub</RequestID></Response>".to_owned(),
                );
            }
            let mut items = String::new();
            let mut listed: BTreeMap<&str, &str> = st
                .regions
                .keys()
                .map(|r| (r.as_str(), "opt-in-not-required"))
                .collect();
            for (r, status) in &st.opt_in {
                listed.insert(r, status);
            }
            for (name, status) in listed {
                items.push_str(&format!(
                    "<item><regionName>{name}</regionName><regionEndpoint>ec2.{name}.amazonaws.com</regionEndpoint><optInStatus>{status}</optInStatus></item>"
                ));
            }
            let xml = format!(
                "<DescribeRegionsResponse xmlns=\"http://ec2.amazonaws.com/doc/2016-11-15/\"><requestId>stub</requestId><regionInfo>{items}</regionInfo></DescribeRegionsResponse>"
            );
            (200, "text/xml", xml)
        }
        _ => {
            *st.calls.entry("sts".into()).or_default() += 1;
            let xml = format!(
                "<GetCallerIdentityResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><GetCallerIdentityResult><Arn>arn:aws:iam::{0}:user/stub</Arn><UserId>AIDSTUB</UserId><Account>{0}</Account></GetCallerIdentityResult><ResponseMetadata><RequestId>stub</RequestId></ResponseMetadata></GetCallerIdentityResponse>",
                account_of(st, access_key)
            );
            (200, "text/xml", xml)
        }
    }
}

fn organizations(st: &mut StubState, op: &str, body: &str) -> (u16, &'static str, String) {
    const JSON: &str = "application/x-amz-json-1.1";
    *st.calls.entry("organizations".into()).or_default() += 1;
    let Some(org) = st.organization.clone().filter(|o| !o.deny) else {
        return (
            400,
            JSON,
            json!({"__type": "AccessDeniedException", "Message": "You don't have permissions to access this resource."}).to_string(),
        );
    };
    let req: Value = serde_json::from_str(body).unwrap_or(Value::Null);
    let start: usize = req["NextToken"]
        .as_str()
        .and_then(|t| t.trim_start_matches('p').parse().ok())
        .unwrap_or(0);
    let parent = req["ParentId"].as_str().unwrap_or("");
    let size = st.page_size.max(1);
    let (key, items): (&str, Vec<Value>) = match op {
        "ListAccounts" | "ListAccountsForParent" => (
            "Accounts",
            org.accounts
                .iter()
                .filter(|a| op == "ListAccounts" || a.3 == parent)
                .map(|(id, name, state, _)| {
                    let status = if state == "CLOSED" { "SUSPENDED" } else { state };
                    json!({"Id": id, "Name": name, "Status": status, "State": state,
                           "Arn": format!("arn:aws:organizations::{}:account/o-stub/{id}", st.account)})
                })
                .collect(),
        ),
        "ListChildren" => (
            "Children",
            org.units
                .iter()
                .filter(|(_, p)| p.as_str() == parent)
                .map(|(id, _)| json!({"Id": id, "Type": "ORGANIZATIONAL_UNIT"}))
                .collect(),
        ),
        _ => return (400, JSON, json!({"__type": "InvalidInputException", "Message": op}).to_string()),
    };
    let end = (start + size).min(items.len());
    let mut out = json!({ key: items.get(start..end).unwrap_or(&[]) });
    if end < items.len() {
        out["NextToken"] = json!(format!("p{end}"));
    }
    (200, JSON, out.to_string())
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
