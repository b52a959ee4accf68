//! `zdd-do`: parse, set up logging to stderr, run, exit with the documented code.
#![allow(clippy::print_stderr)] // the binary is where output belongs

mod cli;
mod commands;
mod dotenv;
mod duration;
mod exit;
mod hook;
mod render;

use clap::FromArgMatches;

fn main() {
    let matches = cli::command().get_matches();
    let args = match cli::Cli::from_arg_matches(&matches) {
        Ok(args) => args,
        Err(e) => e.exit(),
    };
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("ZDD_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_target(false)
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: could not start the async runtime: {e}");
            std::process::exit(exit::USAGE);
        }
    };
    let code = runtime.block_on(commands::run(args));
    std::process::exit(code);
}
