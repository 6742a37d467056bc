use lambda_http::{Error, service_fn};
// lambda_http::run, without its panics on a query string no URI may hold
// or a body marked base64 that is not, and with a handler's panic answered
// as the contract's 500.
use shared::http::run;

#[tokio::main]
async fn main() -> Result<(), Error> {
    shared::bootstrap::init_tracing();
    let qbit = shared::bootstrap::qbit_client(&shared::bootstrap::aws_config().await?)?;
    run(service_fn(|req| async {
        Ok::<_, Error>(list_charges::handle(&qbit, req).await)
    }))
    .await
}
