//! The floor for init: a Rust hello-world Lambda, as the runtime's own
//! basic example has it (no logging set up, no clients), answering every
//! event with a fixed API Gateway response. The harness times it under the
//! same Runtime API stand-in as the six functions.

use lambda_runtime::{Error, LambdaEvent, run, service_fn};
use serde_json::{Value, json};

#[tokio::main]
async fn main() -> Result<(), Error> {
    run(service_fn(|_: LambdaEvent<Value>| async {
        Ok::<_, Error>(json!({"statusCode": 200, "body": "hello"}))
    }))
    .await
}
