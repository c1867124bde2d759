//! SDK plumbing shared by every AWS call: the base configuration, token buckets, the attempt
//! counter and error texts that say what to fix.

use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, ConfigLoader, Region};
use aws_sdk_apigatewayv2 as apigw;

use super::AwsSourceConfig;

/// A token bucket: every request of one account (or of the discovery credentials) waits on it.
pub(crate) type Limiter = governor::DefaultDirectRateLimiter;

/// A bucket of `rate` requests per second with `burst` tokens.
pub(crate) fn limiter(rate: f64, burst: u32) -> Limiter {
    let period = Duration::from_secs_f64(1.0 / rate.max(0.001));
    let burst = NonZeroU32::new(burst.max(1)).unwrap_or(NonZeroU32::MIN);
    let quota = governor::Quota::with_period(period)
        .unwrap_or_else(|| governor::Quota::per_second(NonZeroU32::MIN))
        .allow_burst(burst);
    governor::RateLimiter::direct(quota)
}

/// The region STS, Organizations and DescribeRegions are called in: the first region named
/// without a pattern, else the standard environment's, else `us-east-1`.
pub(crate) fn home_region(config: &AwsSourceConfig) -> String {
    config
        .regions
        .iter()
        .find(|r| !super::regions::is_pattern(r))
        .cloned()
        .or_else(|| std::env::var("AWS_REGION").ok().filter(|r| !r.is_empty()))
        .or_else(|| {
            std::env::var("AWS_DEFAULT_REGION")
                .ok()
                .filter(|r| !r.is_empty())
        })
        .unwrap_or_else(|| "us-east-1".to_owned())
}

/// A new HTTP client: one connection pool for every account, region and service of one
/// crawler. The SDK otherwise builds a client (and a pool) per service client, so thousands of
/// partitions would hold thousands of pools, and connections would never be reused across
/// accounts although the endpoints (one per region) are the same. It is the SDK's default
/// (rustls with aws-lc, proxy settings from the environment).
pub(crate) fn http_client() -> aws_sdk_apigatewayv2::config::SharedHttpClient {
    use aws_smithy_http_client::proxy::ProxyConfig;
    use aws_smithy_http_client::tls::{Provider, rustls_provider::CryptoMode};
    aws_smithy_http_client::Builder::new().build_with_connector_fn(|settings, components| {
        let mut connector = aws_smithy_http_client::Connector::builder()
            .tls_provider(Provider::Rustls(CryptoMode::AwsLc));
        connector.set_connector_settings(settings.cloned());
        if let Some(components) = components {
            connector.set_sleep_impl(components.sleep_impl());
        }
        connector.set_proxy_config(Some(ProxyConfig::from_env()));
        connector.build()
    })
}

/// A loader with the source's endpoint, retry, timeout and (emulator) credentials settings.
pub(crate) fn loader(config: &AwsSourceConfig) -> ConfigLoader {
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new(home_region(config)))
        .retry_config(RetryConfig::standard().with_max_attempts(config.max_attempts.max(1)))
        .timeout_config(
            TimeoutConfig::builder()
                .operation_attempt_timeout(config.attempt_timeout)
                .build(),
        );
    if let Some(url) = &config.endpoint_url {
        loader = loader.endpoint_url(url);
    }
    if let Some((id, secret)) = &config.static_credentials {
        loader = loader.credentials_provider(aws_sdk_sts::config::Credentials::new(
            id.clone(),
            secret.clone(),
            None,
            None,
            "stagesql-static",
        ));
    }
    loader
}

/// Counts every HTTP attempt of one unit of work and the throttled ones, retries included
/// (the SDK retries inside `send()`, so only an interceptor sees them).
#[derive(Debug, Default)]
pub(crate) struct AttemptCounter {
    attempts: AtomicUsize,
    throttled: AtomicUsize,
}

impl AttemptCounter {
    /// (attempts, throttled attempts) so far.
    pub(crate) fn totals(&self) -> (usize, usize) {
        (
            self.attempts.load(Ordering::Relaxed),
            self.throttled.load(Ordering::Relaxed),
        )
    }
}

/// The interceptor behind [`AttemptCounter`]; it also reports each attempt to the process's
/// metrics (`stagesql_aws_attempts_total`, `_throttled_total`, `_retries_total`), labelled with
/// the partition. The `Intercept` trait is the smithy runtime's, so one interceptor serves
/// every service's client.
#[derive(Debug)]
pub(crate) struct CountAttempts {
    pub(crate) counter: Arc<AttemptCounter>,
    pub(crate) account_id: String,
    pub(crate) region: String,
}

/// How many attempts the current operation has made (kept in the operation's config bag, so
/// an attempt after the first is a retry).
#[derive(Debug, Clone, Copy)]
struct OperationAttempts(u32);

impl aws_smithy_types::config_bag::Storable for OperationAttempts {
    type Storer = aws_smithy_types::config_bag::StoreReplace<Self>;
}

impl apigw::config::Intercept for CountAttempts {
    fn name(&self) -> &'static str {
        "stagesql-attempt-counter"
    }

    fn read_after_attempt(
        &self,
        context: &apigw::config::interceptors::FinalizerInterceptorContextRef<'_>,
        _runtime_components: &apigw::config::RuntimeComponents,
        cfg: &mut apigw::config::ConfigBag,
    ) -> Result<(), apigw::error::BoxError> {
        let labels = [
            ("account_id", self.account_id.clone()),
            ("region", self.region.clone()),
        ];
        self.counter.attempts.fetch_add(1, Ordering::Relaxed);
        metrics::counter!("stagesql_aws_attempts_total", &labels).increment(1);
        let attempt = cfg.load::<OperationAttempts>().map_or(1, |a| a.0 + 1);
        cfg.interceptor_state()
            .store_put(OperationAttempts(attempt));
        if attempt > 1 {
            metrics::counter!("stagesql_aws_retries_total", &labels).increment(1);
        }
        if context
            .response()
            .is_some_and(|r| r.status().as_u16() == 429)
        {
            self.counter.throttled.fetch_add(1, Ordering::Relaxed);
            metrics::counter!("stagesql_aws_throttled_total", &labels).increment(1);
        }
        Ok(())
    }
}

/// Every item of a paged listing. `page(token)` fetches one page and returns its items and the
/// next token; each page waits on `limiter` first. The listing ends at an absent or empty
/// token; a token repeated at once is an error, so a service answering the same page forever
/// cannot keep the crawl looping.
pub(crate) async fn all_pages<T, F, Fut>(limiter: &Limiter, mut page: F) -> Result<Vec<T>, String>
where
    F: FnMut(Option<String>) -> Fut,
    Fut: std::future::Future<Output = Result<(Vec<T>, Option<String>), String>>,
{
    let mut items = Vec::new();
    let mut next: Option<String> = None;
    loop {
        limiter.until_ready().await;
        let (more, token) = page(next.clone()).await?;
        items.extend(more);
        let token = token.filter(|t| !t.is_empty());
        match token {
            None => return Ok(items),
            Some(t) if next.as_ref() == Some(&t) => {
                return Err(format!(
                    "the service returned the nextToken {t:?} twice in a row"
                ));
            }
            Some(t) => next = Some(t),
        }
    }
}

/// An error and its chain of causes on one line.
pub(crate) fn error_message<E: std::error::Error + 'static>(e: &E) -> String {
    let mut msg = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        msg.push_str(": ");
        msg.push_str(&s.to_string());
        source = s.source();
    }
    msg
}

/// What the operator should do about a failure, judged from the error's code and text. The
/// SDK reports a credential failure inside the operation that needed the credentials (an
/// AssumeRole refused surfaces in the first call made with the role), so the text is what
/// tells the cases apart.
pub(crate) fn advice(message: &str) -> Option<&'static str> {
    let has = |needle: &str| message.contains(needle);
    if has("sts:AssumeRole") || (has("AssumeRole") && has("AccessDenied")) {
        Some(
            "the member role is missing in this account or its trust policy does not let the \
             crawler's credentials assume it: deploy the member role there (README \"Live AWS\"), \
             or exclude the account",
        )
    } else if has("AWSOrganizationsNotInUse")
        || (has("AccessDenied") && (has("ListAccounts") || has("ListChildren")))
    {
        Some(
            "these credentials cannot list the organization's accounts: use the management \
             account or a delegated administrator, with organizations:ListAccounts, \
             ListAccountsForParent and ListChildren",
        )
    } else if has("ExpiredToken") || has("RequestExpired") {
        Some(
            "the credentials have expired: renew them (the SDK refreshes roles and SSO sessions itself)",
        )
    } else if has("InvalidClientTokenId")
        || has("UnrecognizedClient")
        || has("no credentials")
        || has("NoCredentials")
        || has("failed to load credentials")
        || has("the credential provider was not enabled")
    {
        Some(
            "the credentials are missing or invalid: check the default credential chain \
             (AWS_PROFILE, environment, instance or task role)",
        )
    } else if has("UnauthorizedOperation") || has("AccessDenied") {
        Some(
            "the credentials lack a permission this call needs: see the IAM policy in README \"Live AWS\"",
        )
    } else if has("dispatch failure")
        || has("timeout")
        || has("timed out")
        || has("Connection refused")
        || has("error trying to connect")
        || has("dns error")
    {
        Some("the endpoint is unreachable: check the network path (proxy, VPC endpoint, firewall)")
    } else {
        None
    }
}

/// `message` followed by its advice, if any.
pub(crate) fn explain(message: String) -> String {
    match advice(&message) {
        Some(advice) => format!("{message} (what to do: {advice})"),
        None => message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn pages_are_followed_and_a_repeated_token_stops_the_listing() {
        let bucket = limiter(1000.0, 100);
        let items = all_pages(&bucket, |token| async move {
            Ok(match token.as_deref() {
                None => (vec![1, 2], Some("a".to_owned())),
                Some("a") => (vec![3], Some("b".to_owned())),
                _ => (vec![4], Some(String::new())),
            })
        })
        .await;
        assert_eq!(items, Ok(vec![1, 2, 3, 4]));
        let stuck = all_pages(&bucket, |_| async {
            Ok((vec![0], Some("same".to_owned())))
        })
        .await;
        assert!(stuck.expect_err("a loop").contains("twice"));
    }

    #[test]
    fn advice_tells_the_failures_apart() {
        let assume = "failed to load credentials: AccessDenied: User: arn:aws:iam::1:user/x is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::2:role/r";
        assert!(advice(assume).expect("advice").contains("member role"));
        let list = "service error: AccessDeniedException: You don't have permissions to access this resource. (ListAccounts)";
        assert!(advice(list).expect("advice").contains("management"));
        assert!(
            advice("ExpiredTokenException: The security token included in the request is expired")
                .expect("advice")
                .contains("expired")
        );
        assert!(
            advice("dispatch failure: io error: Connection refused")
                .expect("advice")
                .contains("unreachable")
        );
        assert_eq!(advice("service error: BadRequestException"), None);
        assert_eq!(explain("plain".into()), "plain");
    }
}
