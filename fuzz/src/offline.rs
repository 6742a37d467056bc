//! The six functions' clients, built so that nothing can be reached: AWS
//! clients without credentials (every call fails before a byte is sent),
//! at a loopback address nothing listens on, without retries. A request
//! that gets past a function's edge parsing therefore ends in a 503 (the
//! secret or the table cannot be read) without any network, which is what
//! the `api_routes` target relies on.

use std::sync::{Arc, OnceLock};

use aws_config::retry::RetryConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use shared::bootstrap::Debox;
use shared::debox::{DeboxClient, UserId};
use shared::qbit::QbitClient;
use shared::secrets::Secrets;
use shared::table::DynamoStore;
use shared::upstream::{Timeouts, http_client};
use shared::webhook::MemoryEvents;
use url::Url;

/// Nothing listens there; nothing is sent there either (see above).
const NOWHERE: &str = "http://127.0.0.1:9";

/// The merchant's DeBox user id in these clients.
pub const MERCHANT: &str = "merchant01";

pub struct Offline {
    pub secrets: Arc<Secrets>,
    pub qbit: QbitClient,
    pub debox: Debox,
    pub store: DynamoStore,
    pub events: MemoryEvents,
}

fn sdk() -> SdkConfig {
    SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(NOWHERE)
        .retry_config(RetryConfig::disabled())
        .build()
}

/// Built once per process (as a Lambda container builds them once).
pub fn clients() -> &'static Offline {
    static CLIENTS: OnceLock<Offline> = OnceLock::new();
    CLIENTS.get_or_init(|| {
        let sdk = sdk();
        let secrets = Arc::new(Secrets::new(
            aws_sdk_secretsmanager::Client::new(&sdk),
            "payments",
        ));
        let http = http_client(Timeouts::default()).expect("an HTTP client");
        let base = Url::parse(NOWHERE).unwrap();
        Offline {
            qbit: QbitClient::new(http.clone(), base.clone(), secrets.clone()),
            debox: Debox {
                client: DeboxClient::new(http, base.clone(), secrets.clone()),
                merchant: UserId::parse(MERCHANT).unwrap(),
                app_base: base,
            },
            store: DynamoStore::new(aws_sdk_dynamodb::Client::new(&sdk), "payments"),
            events: MemoryEvents::default(),
            secrets,
        }
    })
}
