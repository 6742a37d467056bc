use lambda_http::{Error, run, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    shared::bootstrap::init_tracing();
    let debox = shared::bootstrap::debox(&shared::bootstrap::aws_config().await)?;
    run(service_fn(|req| async {
        Ok::<_, Error>(debox_order::handle(&debox, req).await)
    }))
    .await
}
