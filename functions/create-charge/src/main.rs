use lambda_http::{Error, run, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    shared::bootstrap::init_tracing();
    let qbit = shared::bootstrap::qbit_client().await?;
    run(service_fn(|req| async {
        Ok::<_, Error>(create_charge::handle(&qbit, req).await)
    }))
    .await
}
