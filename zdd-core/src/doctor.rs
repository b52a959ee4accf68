//! `doctor`: what a user runs once when setting a pipeline up. Each check reads (or, for the
//! lock, writes and removes one tag) and says what it found and, when it fails, what to fix:
//! the token, the droplets the tags select, the reserved IP or load balancer, the health
//! endpoint as seen from where this runs, the deploy lock's tag rights, and the rate-limit
//! headroom. Nothing a deploy uses is changed.

use std::net::{IpAddr, Ipv4Addr};

use do_api::Client;
use do_api::droplets::Droplet;
use serde::Serialize;

use crate::bluegreen::Roles;
use crate::health::HealthGate;
use crate::lb::LbRef;

/// What to look at: a blue-green pair on a reserved IP (found from the tags when `None`) or
/// behind a load balancer.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DoctorTarget {
    /// A reserved IP.
    ReservedIp(Option<Ipv4Addr>),
    /// A load balancer.
    LoadBalancer(LbRef),
}

/// What `doctor` checks.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DoctorConfig {
    /// The live and standby tags.
    pub roles: Roles,
    /// Where traffic is switched.
    pub target: DoctorTarget,
    /// The health check, as a deploy would probe.
    pub gate: HealthGate,
}

/// How a check ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Fine.
    Pass,
    /// A deploy would work, but look at it.
    Warn,
    /// A deploy would fail.
    Fail,
}

/// What kind of trouble a failed check is, so that a caller can say how a deploy would end.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Trouble {
    /// The API refused or could not be reached.
    Api,
    /// Droplets, tags, reserved IP or load balancer are not as a deploy expects.
    Setup,
    /// A droplet does not answer its health check.
    Health,
}

/// One check.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Check {
    /// What was checked (`token`, `tags`, `reserved_ip`, `load_balancer`, `health`, `lock`,
    /// `rate_limit`).
    pub name: &'static str,
    /// How it ended.
    pub verdict: Verdict,
    /// What was found.
    pub detail: String,
    /// What to do about it, when it did not pass.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
    /// The kind of trouble, when it failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trouble: Option<Trouble>,
}

/// Every check, in order.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DoctorReport {
    /// The checks.
    pub checks: Vec<Check>,
}

impl DoctorReport {
    /// The first failed check, if any: a deploy would fail the way it says.
    pub fn first_failure(&self) -> Option<&Check> {
        self.checks.iter().find(|c| c.verdict == Verdict::Fail)
    }
}

fn pass(name: &'static str, detail: String) -> Check {
    Check {
        name,
        verdict: Verdict::Pass,
        detail,
        fix: None,
        trouble: None,
    }
}

fn warn(name: &'static str, detail: String, fix: String) -> Check {
    Check {
        name,
        verdict: Verdict::Warn,
        detail,
        fix: Some(fix),
        trouble: None,
    }
}

fn fail(name: &'static str, trouble: Trouble, detail: String, fix: String) -> Check {
    Check {
        name,
        verdict: Verdict::Fail,
        detail,
        fix: Some(fix),
        trouble: Some(trouble),
    }
}

/// The fix for an API error: the token, its scope, or the network.
fn api_fix(e: &do_api::Error, scope: &str) -> String {
    if e.status() == Some(401) {
        "set DIGITALOCEAN_ACCESS_TOKEN (or DIGITALOCEAN_TOKEN) to a valid, unexpired token".into()
    } else if e.status() == Some(403) {
        format!("give the token the `{scope}` scope (or use a full-access token)")
    } else if e.is_tls() {
        "trust the CA that signs the API's certificate (a TLS-inspecting proxy's, or the simulator's)".into()
    } else if e.is_connect() || e.is_request_timeout() {
        "check the API URL and that this machine reaches it".into()
    } else {
        "try again; if it persists, see DigitalOcean's status page".into()
    }
}

fn names(ds: &[Droplet]) -> String {
    ds.iter()
        .map(|d| format!("{} ({})", d.name, d.id))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Run every check that can run; a check that depends on a failed one is left out.
pub async fn doctor(client: &Client, cfg: &DoctorConfig) -> DoctorReport {
    let mut checks = Vec::new();
    let roles = &cfg.roles;
    // 1. The token: the account it belongs to. A token without `account:read` is still a
    // token (403, not 401); the first read every deploy makes then decides.
    let account = client.account().get().await;
    match &account {
        Ok(a) if a.status == do_api::AccountStatus::Locked => {
            checks.push(fail(
                "token",
                Trouble::Setup,
                format!(
                    "the account {} is locked: {}",
                    a.email,
                    a.status_message.trim()
                ),
                "see the account's billing and messages in the control panel".into(),
            ));
            return DoctorReport { checks };
        }
        Ok(a) => checks.push(pass(
            "token",
            format!(
                "the API accepts the token: account {} ({}), droplet limit {}",
                a.email,
                a.status.as_str(),
                a.droplet_limit
            ),
        )),
        Err(e) if e.status() == Some(403) => {}
        Err(e) => {
            checks.push(fail(
                "token",
                Trouble::Api,
                e.to_string(),
                api_fix(e, "account:read"),
            ));
            return DoctorReport { checks };
        }
    }
    let read = async {
        let live = client.droplets().list_by_tag(&roles.live_tag).await?;
        let standby = client.droplets().list_by_tag(&roles.standby_tag).await?;
        Ok::<_, do_api::Error>((live, standby))
    };
    let (live, standby) = match read.await {
        Ok(both) => {
            if account.is_err() {
                checks.push(pass(
                    "token",
                    "the API accepts the token and it reads droplets (it cannot read the account: no `account:read` scope, which deploys do not need)".into(),
                ));
            }
            both
        }
        Err(e) => {
            checks.push(fail(
                if account.is_ok() { "tags" } else { "token" },
                Trouble::Api,
                e.to_string(),
                api_fix(&e, "droplet:read"),
            ));
            return DoctorReport { checks };
        }
    };
    // 2. The tags.
    let lb_mode = matches!(cfg.target, DoctorTarget::LoadBalancer(_));
    let tag_fix = |tag: &str| {
        format!(
            "tag the droplet: `doctl compute droplet tag <droplet> --tag-name {tag}` (or in the control panel)"
        )
    };
    let tags_ok = if live.is_empty() || standby.is_empty() {
        let missing = if live.is_empty() {
            &roles.live_tag
        } else {
            &roles.standby_tag
        };
        checks.push(fail(
            "tags",
            Trouble::Setup,
            format!("no droplet is tagged `{missing}`"),
            tag_fix(missing),
        ));
        false
    } else if !lb_mode && (live.len() > 1 || standby.len() > 1) {
        checks.push(fail(
            "tags",
            Trouble::Setup,
            format!(
                "a reserved IP switches one droplet: `{}` is on {}, `{}` on {}",
                roles.live_tag,
                names(&live),
                roles.standby_tag,
                names(&standby)
            ),
            "leave each tag on one droplet (several droplets per role need a load balancer: --lb)"
                .into(),
        ));
        false
    } else {
        checks.push(pass(
            "tags",
            format!(
                "`{}`: {}; `{}`: {}",
                roles.live_tag,
                names(&live),
                roles.standby_tag,
                names(&standby)
            ),
        ));
        true
    };
    // 3. Where traffic is switched.
    match &cfg.target {
        DoctorTarget::ReservedIp(given) => {
            checks.push(reserved_ip(client, *given, &live, &standby).await);
        }
        DoctorTarget::LoadBalancer(lb) => {
            checks.push(load_balancer(client, lb, &live).await);
        }
    }
    // 4. The health endpoint, from here.
    if tags_ok {
        for d in live.iter().chain(&standby) {
            checks.push(health(&cfg.gate, d).await);
        }
    }
    // 5. The lock: a tag created and deleted, as every deploy does.
    checks.push(lock(client).await);
    // 6. Headroom.
    checks.push(match client.rate_limit() {
        Some(r) if r.remaining < 100 => warn(
            "rate_limit",
            format!("{} of {} requests left this hour", r.remaining, r.limit),
            "a deploy makes 15 to 30 requests (a roll more, see its --dry-run): wait for the quota to refill, or check what else uses the token".into(),
        ),
        Some(r) => pass(
            "rate_limit",
            format!("{} of {} requests left this hour", r.remaining, r.limit),
        ),
        None => pass(
            "rate_limit",
            "the API sent no rate-limit headers".into(),
        ),
    });
    DoctorReport { checks }
}

async fn reserved_ip(
    client: &Client,
    given: Option<Ipv4Addr>,
    live: &[Droplet],
    standby: &[Droplet],
) -> Check {
    let ip = match given {
        Some(ip) => ip,
        None => {
            let ips = match client.reserved_ips().list().await {
                Ok(l) => l,
                Err(e) => {
                    return fail(
                        "reserved_ip",
                        Trouble::Api,
                        e.to_string(),
                        api_fix(&e, "reserved_ip:read"),
                    );
                }
            };
            let ids: Vec<_> = live.iter().chain(standby).map(|d| d.id).collect();
            let held: Vec<Ipv4Addr> = ips
                .iter()
                .filter(|r| r.droplet_id().is_some_and(|d| ids.contains(&d)))
                .map(|r| r.ip)
                .collect();
            match held.as_slice() {
                [one] => *one,
                [] => {
                    return fail(
                        "reserved_ip",
                        Trouble::Setup,
                        "no reserved IP is assigned to a tagged droplet".into(),
                        "assign the reserved IP to the live droplet, or name it (--reserved-ip)"
                            .into(),
                    );
                }
                many => {
                    let list: Vec<String> = many.iter().map(|i| i.to_string()).collect();
                    return fail(
                        "reserved_ip",
                        Trouble::Setup,
                        format!(
                            "several reserved IPs are on the tagged droplets: {}",
                            list.join(", ")
                        ),
                        "name the one to deploy (--reserved-ip)".into(),
                    );
                }
            }
        }
    };
    match client.reserved_ips().get(ip).await {
        Ok(r) => match (r.droplet_id(), live.first()) {
            (Some(h), Some(l)) if h == l.id => pass(
                "reserved_ip",
                format!("{ip} points at the live droplet {}", l.name),
            ),
            (Some(h), _) if standby.iter().any(|s| s.id == h) => warn(
                "reserved_ip",
                format!("{ip} points at the standby-tagged droplet {h}: an interrupted run"),
                "run `zdd-do promote` (or `rollback`) again to finish it".into(),
            ),
            (holder, _) => fail(
                "reserved_ip",
                Trouble::Setup,
                format!(
                    "{ip} points at {}, not at a tagged droplet",
                    holder
                        .map(|h| format!("droplet {h}"))
                        .unwrap_or_else(|| "no droplet".into())
                ),
                "assign it to the live droplet, or tag the droplet it points at".into(),
            ),
        },
        Err(e) if e.is_not_found() => fail(
            "reserved_ip",
            Trouble::Setup,
            format!("reserved IP {ip} does not exist in this account"),
            "check the reserved IP and the token's team".into(),
        ),
        Err(e) => fail(
            "reserved_ip",
            Trouble::Api,
            e.to_string(),
            api_fix(&e, "reserved_ip:read"),
        ),
    }
}

async fn load_balancer(client: &Client, lb: &LbRef, live: &[Droplet]) -> Check {
    let found = match lb {
        LbRef::Id(id) => client.load_balancers().get_opt(id).await,
        LbRef::Name(name) => client.load_balancers().find_by_name(name).await,
    };
    match found {
        Ok(Some(l)) => {
            let missing: Vec<&Droplet> = live
                .iter()
                .filter(|d| !l.droplet_ids.contains(&d.id))
                .collect();
            if missing.is_empty() {
                pass(
                    "load_balancer",
                    format!("{} ({}) serves the live droplets", l.name, l.id),
                )
            } else {
                warn(
                    "load_balancer",
                    format!(
                        "{} does not serve live droplet(s) {}",
                        l.name,
                        missing
                            .iter()
                            .map(|d| d.name.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                    "add the live droplets to the load balancer (its tag, or its droplet list)"
                        .into(),
                )
            }
        }
        Ok(None) => fail(
            "load_balancer",
            Trouble::Setup,
            format!(
                "no load balancer `{}` in this account",
                match lb {
                    LbRef::Id(id) => id.to_string(),
                    LbRef::Name(n) => n.clone(),
                }
            ),
            "check its name or id (`doctl compute load-balancer list`)".into(),
        ),
        Err(e) => fail(
            "load_balancer",
            Trouble::Api,
            e.to_string(),
            api_fix(&e, "load_balancer:read"),
        ),
    }
}

async fn health(gate: &HealthGate, d: &Droplet) -> Check {
    let addr: IpAddr = match gate.address_of(d) {
        Ok(a) => a,
        Err(why) => {
            return fail(
                "health",
                Trouble::Health,
                why,
                "probe the other address (--health-address)".into(),
            );
        }
    };
    let url = gate.url_for(addr);
    match gate.any_version().probe_ip(addr).await {
        Ok(status) => pass("health", format!("{} answers {url} with {status}", d.name)),
        Err(f) => fail(
            "health",
            Trouble::Health,
            format!("{} at {url}: {f}", d.name),
            "check the app, the port and path (--health-port, --health-path), the firewall, and whether this runner must use the private address (--health-address private)".into(),
        ),
    }
}

async fn lock(client: &Client) -> Check {
    let unix = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default();
    let name = format!("zdd-doctor:{unix}:{}", std::process::id());
    if let Err(e) = client.tags().create(&name).await {
        return fail(
            "lock",
            Trouble::Api,
            e.to_string(),
            api_fix(&e, "tag:create"),
        );
    }
    match client.tags().delete(&name).await {
        Ok(()) => pass(
            "lock",
            "the token creates and deletes tags (the deploy lock)".into(),
        ),
        Err(e) => fail(
            "lock",
            Trouble::Api,
            format!("created tag {name} but could not delete it: {e}"),
            format!("{} (then delete the tag {name})", api_fix(&e, "tag:delete")),
        ),
    }
}
