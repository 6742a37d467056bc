use lambda_http::{Error, service_fn};
// lambda_http::run, without its panic on a query string no URI may hold.
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
