//! A provider stand-in on loopback, in this process: every request gets the
//! answer set with [`answer_with`] (status and body bytes, then the
//! connection is closed), except Secrets Manager's `GetSecretValue`, which
//! gets a fixed, complete payments secret. The real Qbit and DeBox clients
//! are pointed at it, so the `provider_answers` target runs their own
//! reading of an answer: status mapping, size cap, JSON, codes.

use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_secretsmanager::config::{Credentials, SharedCredentialsProvider};
use serde_json::json;
use shared::debox::DeboxClient;
use shared::qbit::QbitClient;
use shared::secrets::Secrets;
use shared::upstream::{Timeouts, http_client};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use url::Url;

/// The secret the stand-in serves (fake values; nothing real).
pub const APP_SECRET: &str = "fuzz-app-secret";

struct Answer {
    status: u16,
    body: Vec<u8>,
}

fn current() -> &'static Mutex<Answer> {
    static ANSWER: OnceLock<Mutex<Answer>> = OnceLock::new();
    ANSWER.get_or_init(|| {
        Mutex::new(Answer {
            status: 200,
            body: Vec::new(),
        })
    })
}

/// What the provider answers next (and until told otherwise).
pub fn answer_with(status: u16, body: &[u8]) {
    let mut answer = current().lock().unwrap();
    answer.status = status;
    answer.body = body.to_vec();
}

/// What the clients need to reach the stand-in; one secret cache, so the
/// secret is read once (and again only after DeBox refuses our key).
pub struct Stub {
    base: Url,
    secrets: Arc<Secrets>,
    http: reqwest::Client,
}

impl Stub {
    /// A fresh Qbit client: its own token cache, so that no token read from
    /// one input is reused for the next.
    pub fn qbit(&self) -> QbitClient {
        QbitClient::new(self.http.clone(), self.base.clone(), self.secrets.clone())
    }

    pub fn debox(&self) -> DeboxClient {
        DeboxClient::new(self.http.clone(), self.base.clone(), self.secrets.clone())
    }
}

/// Start the stand-in (once per process) and build what its clients need.
pub fn stub() -> &'static Stub {
    static STUB: OnceLock<Stub> = OnceLock::new();
    STUB.get_or_init(|| {
        let listener = crate::block_on(TcpListener::bind("127.0.0.1:0")).expect("bind loopback");
        let port = listener.local_addr().unwrap().port();
        crate::block_on(async {
            tokio::spawn(serve(listener));
        });
        let base = Url::parse(&format!("http://127.0.0.1:{port}")).unwrap();
        let sdk = SdkConfig::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .endpoint_url(base.as_str())
            .retry_config(RetryConfig::disabled())
            .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
                "AKIDFUZZ", "fuzz", None, None, "fuzz",
            )))
            .build();
        let timeouts = Timeouts {
            connect: Duration::from_secs(2),
            total: Duration::from_secs(5),
        };
        Stub {
            base,
            secrets: Arc::new(Secrets::new(
                aws_sdk_secretsmanager::Client::new(&sdk),
                "payments",
            )),
            http: http_client(timeouts).expect("an HTTP client"),
        }
    })
}

async fn serve(listener: TcpListener) {
    loop {
        if let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(answer(stream));
        }
    }
}

/// Read one request (head, then `content-length` bytes), answer, close.
async fn answer(mut stream: TcpStream) {
    let mut request = Vec::new();
    let mut buf = [0u8; 8192];
    let head_end = loop {
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => request.extend_from_slice(&buf[..n]),
        }
        if let Some(at) = request.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
    };
    let head = String::from_utf8_lossy(&request[..head_end]).to_ascii_lowercase();
    let length: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    while request.len() < head_end + length {
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => request.extend_from_slice(&buf[..n]),
        }
    }
    let (status, body) = if head.contains("secretsmanager.getsecretvalue") {
        let secret = json!({
            "qbit_api_key": "sk_fuzz",
            "qbit_webhook_public_key": crate::WEBHOOK_PUBLIC_PEM,
            "debox_app_id": "fuzz-app",
            "debox_api_key": "fuzz-api-key",
            "debox_app_secret": APP_SECRET,
        });
        let answer = json!({"ARN": "arn:aws:secretsmanager:us-east-1:123456789012:secret:payments",
            "Name": "payments", "VersionId": "v1", "SecretString": secret.to_string()});
        (200, answer.to_string().into_bytes())
    } else {
        let answer = current().lock().unwrap();
        (answer.status, answer.body.clone())
    };
    // No body with 204 or 304, as HTTP says.
    let body: &[u8] = if matches!(status, 204 | 304) {
        &[]
    } else {
        &body
    };
    let head = format!(
        "HTTP/1.1 {status} Fuzz\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    );
    let _ = stream.write_all(head.as_bytes()).await;
    let _ = stream.write_all(body).await;
    let _ = stream.shutdown().await;
}
