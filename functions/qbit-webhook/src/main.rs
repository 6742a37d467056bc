use lambda_http::{Error, service_fn};
// lambda_http::run, without its panic on a query string no URI may hold.
use shared::http::run;

#[tokio::main]
async fn main() -> Result<(), Error> {
    shared::bootstrap::init_tracing();
    let sdk = shared::bootstrap::aws_config().await?;
    let secrets = shared::bootstrap::secrets(&sdk, &shared::config::process_env())?;
    let store = shared::bootstrap::store(&sdk)?;
    run(service_fn(|req| async {
        Ok::<_, Error>(qbit_webhook::handle(&secrets, &store, req).await)
    }))
    .await
}
