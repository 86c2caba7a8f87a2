//! `plugbay-server`: see the crate README for routes and settings.

use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    let settings = match plugbay::core::Settings::from_env() {
        Ok(settings) => settings,
        Err(e) => {
            eprintln!("plugbay-server: {e}");
            return ExitCode::FAILURE;
        }
    };
    match plugbay_server::run(settings).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("plugbay-server: {e}");
            ExitCode::FAILURE
        }
    }
}
