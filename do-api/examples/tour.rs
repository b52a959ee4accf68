//! A tour of do-api: point a client at an API, list droplets by tag, move a reserved IP from the
//! live droplet to the standby and wait for the action, and tell errors apart.
//!
//! Against a rehearsal, no account needed (`zdd-do sim` prints both values):
//!
//! ```sh
//! DO_API_URL=http://127.0.0.1:PORT/ DIGITALOCEAN_ACCESS_TOKEN=sim-token-not-a-secret \
//!   cargo run -p do-api --example tour -- PROD FALLBACK
//! ```
//!
//! Without `DO_API_URL` it talks to DigitalOcean itself, and really moves your reserved IP.
//! CI runs [`tour`] against do-sim (`do-sim/tests/do_api_example.rs`).
#![allow(clippy::print_stdout)]

use std::time::Duration;

use do_api::{Client, Error, Token, WaitOptions};

/// Move the reserved IP held by the droplet tagged `live_tag` to the one tagged
/// `standby_tag`; returns what was done, one line per step.
pub async fn tour(
    client: &Client,
    live_tag: &str,
    standby_tag: &str,
) -> Result<Vec<String>, Error> {
    let mut said = Vec::new();
    // Listing by tag follows every page (200 items each) for you.
    let live = client.droplets().list_by_tag(live_tag).await?;
    let standby = client.droplets().list_by_tag(standby_tag).await?;
    let (Some(from), Some(to)) = (live.first(), standby.first()) else {
        return Err(Error::InvalidInput(format!(
            "no droplet tagged `{live_tag}` or `{standby_tag}`"
        )));
    };
    said.push(format!(
        "live: {} ({}), standby: {} ({})",
        from.name, from.id, to.name, to.id
    ));
    // The reserved IP on the live droplet.
    let ips = client.reserved_ips().list().await?;
    let Some(rip) = ips.iter().find(|r| r.droplet_id() == Some(from.id)) else {
        return Err(Error::InvalidInput(format!(
            "no reserved IP on droplet {}",
            from.id
        )));
    };
    // Assign answers at once with an action in progress; wait for it with a deadline and a
    // poll schedule that starts short and backs off. `errored` and the deadline are errors.
    let action = client.reserved_ips().assign(rip.ip, to.id).await?;
    let wait = WaitOptions::with_timeout(Duration::from_secs(120))
        .interval(Duration::from_millis(500), Duration::from_secs(5));
    let done = client.actions().wait(action.id, &wait).await?;
    said.push(format!(
        "reserved IP {} moved to {} by action {} ({})",
        rip.ip, to.name, done.id, done.status
    ));
    // Errors say what happened: predicates instead of status codes and string matching.
    match client.droplets().get(do_api::DropletId(1)).await {
        Ok(d) => said.push(format!("droplet 1 exists: {}", d.name)),
        Err(e) if e.is_not_found() => said.push("droplet 1: not found".into()),
        Err(e) if e.is_unauthorized() => return Err(e),
        Err(e) => said.push(format!("droplet 1: {e}")),
    }
    if let Some(limit) = client.rate_limit() {
        said.push(format!(
            "rate limit: {} of {} requests left this hour",
            limit.remaining, limit.limit
        ));
    }
    Ok(said)
}

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let live = args.next().unwrap_or_else(|| "PROD".into());
    let standby = args.next().unwrap_or_else(|| "FALLBACK".into());
    let token = std::env::var("DIGITALOCEAN_ACCESS_TOKEN").unwrap_or_default();
    let mut builder = Client::builder();
    match Token::new(token) {
        Ok(t) => builder = builder.token(t),
        Err(e) => {
            println!("error: {e}: set DIGITALOCEAN_ACCESS_TOKEN");
            std::process::exit(2);
        }
    }
    if let Ok(url) = std::env::var("DO_API_URL") {
        builder = builder.base_url(url);
    }
    let client = match builder.build() {
        Ok(c) => c,
        Err(e) => {
            println!("error: {e}");
            std::process::exit(2);
        }
    };
    match tour(&client, &live, &standby).await {
        Ok(lines) => {
            for l in lines {
                println!("{l}");
            }
        }
        Err(e) => {
            let hint = if e.is_connect() {
                " (is DO_API_URL right, and the API up?)"
            } else if e.is_unauthorized() {
                " (check the token and its scopes)"
            } else {
                ""
            };
            println!("error: {e}{hint}");
            std::process::exit(1);
        }
    }
}
