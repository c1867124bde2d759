//! The standard AWS credential chain (environment, profile, SSO, web identity, container and
//! instance roles) as `object_store`'s credential provider, so the store is reached with the
//! same credentials as every other AWS call this server makes.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use object_store::aws::AwsCredential;

/// Credentials are fetched again this long before they expire.
const REFRESH_BEFORE_EXPIRY: Duration = Duration::from_secs(300);

/// The SDK's default credential chain, cached until shortly before the credentials expire
/// (the chain itself does not cache, and an instance-role lookup is an HTTP call).
#[derive(Debug)]
pub struct SdkCredentials {
    chain: Option<SharedCredentialsProvider>,
    /// The last credentials and when they expire (a tokio Mutex: held across the refresh, so
    /// concurrent requests wait for one lookup instead of each making one).
    cached: tokio::sync::Mutex<Option<(Arc<AwsCredential>, Option<SystemTime>)>>,
}

impl SdkCredentials {
    /// The default chain for `region`.
    pub async fn load(region: &str) -> SdkCredentials {
        let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new(region.to_owned()))
            .load()
            .await;
        SdkCredentials {
            chain: sdk.credentials_provider(),
            cached: tokio::sync::Mutex::new(None),
        }
    }
}

#[async_trait::async_trait]
impl object_store::CredentialProvider for SdkCredentials {
    type Credential = AwsCredential;

    async fn get_credential(&self) -> object_store::Result<Arc<AwsCredential>> {
        let mut cached = self.cached.lock().await;
        if let Some((credential, expiry)) = cached.as_ref() {
            let fresh = expiry.is_none_or(|t| {
                t.duration_since(SystemTime::now())
                    .is_ok_and(|left| left > REFRESH_BEFORE_EXPIRY)
            });
            if fresh {
                return Ok(Arc::clone(credential));
            }
        }
        let generic = |message: String| object_store::Error::Generic {
            store: "S3",
            source: message.into(),
        };
        let chain = self
            .chain
            .as_ref()
            .ok_or_else(|| generic("no AWS credentials are configured".to_owned()))?;
        let credentials = chain
            .provide_credentials()
            .await
            .map_err(|e| generic(format!("cannot load AWS credentials: {e}")))?;
        let credential = Arc::new(AwsCredential {
            key_id: credentials.access_key_id().to_owned(),
            secret_key: credentials.secret_access_key().to_owned(),
            token: credentials.session_token().map(str::to_owned),
        });
        *cached = Some((Arc::clone(&credential), credentials.expiry()));
        Ok(credential)
    }
}
