//! `zdd-do`: parse, set up logging to stderr, run, exit with the documented code.

mod cli;
mod commands;
mod dotenv;
mod duration;
mod exit;
mod hook;
mod logging;
mod render;

use clap::FromArgMatches;

fn main() {
    let args = match cli::command()
        .try_get_matches()
        .and_then(|m| cli::Cli::from_arg_matches(&m))
    {
        Ok(args) => args,
        Err(e) => usage_error(e),
    };
    logging::init(args.global.events);
    let style = commands::style(args.global.events);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            let message = format!("could not start the async runtime: {e}");
            commands::report_early(args.global.output, style, exit::USAGE, &message);
            std::process::exit(exit::USAGE);
        }
    };
    let code = runtime.block_on(commands::run(args));
    std::process::exit(code);
}

/// A command line clap refuses: clap's own text (exit 2), unless `--output json` or
/// `--events json` were asked for, which get the same document and JSON line as any other
/// usage error.
fn usage_error(e: clap::Error) -> ! {
    use clap::error::ErrorKind;
    let json = |flag: &str, env: &str| cli::raw_global(flag, env).as_deref() == Some("json");
    let (output_json, events_json) = (
        json("--output", "ZDD_OUTPUT"),
        json("--events", "ZDD_EVENTS"),
    );
    let informational = matches!(
        e.kind(),
        ErrorKind::DisplayHelp
            | ErrorKind::DisplayVersion
            | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
    );
    if informational || !(output_json || events_json) {
        e.exit();
    }
    // `error: <what>` up to the first blank line (the usage and the hint follow it).
    let text = e.render().to_string();
    let message = text
        .lines()
        .take_while(|l| !l.trim().is_empty())
        .map(str::trim)
        .collect::<Vec<_>>()
        .join(" ");
    let message = message.strip_prefix("error: ").unwrap_or(&message);
    let output = if output_json {
        cli::Output::Json
    } else {
        cli::Output::Human
    };
    let style = if events_json {
        render::Style::JsonLines
    } else {
        render::Style::Human { gitlab: false }
    };
    commands::report_early(output, style, exit::USAGE, message);
    std::process::exit(exit::USAGE);
}
