use lambda_http::{Error, service_fn};
// lambda_http::run, without its panic on a query string no URI may hold.
use shared::http::run;

#[tokio::main]
async fn main() -> Result<(), Error> {
    shared::bootstrap::init_tracing();
    let debox = shared::bootstrap::debox(&shared::bootstrap::aws_config().await?)?;
    run(service_fn(|req| async {
        Ok::<_, Error>(debox_order::handle(&debox, req).await)
    }))
    .await
}
