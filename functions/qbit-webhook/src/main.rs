//! `qbit-webhook`: a placeholder answering 501 in the contract's shape until its
//! issue lands.

use lambda_http::{Error, Request, run, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    shared::bootstrap::init_tracing();
    run(service_fn(|req: Request| async move {
        Ok::<_, Error>(shared::http::not_implemented(&req, "qbit-webhook"))
    }))
    .await
}
