//! `promote --image`: a fresh standby instead of updating the old one. A new droplet is created
//! from the release's image (or user data) with the live droplet's settings, waited for, and
//! health-gated directly; it then takes the standby tag from the old standby (which is marked
//! `zdd-retired:<run>`), and the usual promote moves the reserved IP to it. The old live droplet
//! becomes the standby (the fallback); the old standby is deleted once the switch holds. If the
//! switch does not happen (the gate, a switch back), the new droplet is deleted and the old
//! standby gets its tag back: the pair is as before.
//!
//! Every state on the way is in the tags (`zdd-run:<run>` on the new droplet from its create,
//! `zdd-retired:<run>` on the old standby), so running the same command again finishes the job.

use std::future::Future;
use std::net::Ipv4Addr;

use do_api::Client;
use do_api::droplets::{CreateDroplet, Droplet, DropletFilter, ImageRef};
use tokio::time::Instant;

use super::config::{BlueGreenConfig, Mode};
use super::report::BlueGreenReport;
use crate::events::{EventSink, Step, Subject};
use crate::hook::NoHook;
use crate::lock::scope_for_ip;
use crate::replace::NewDroplets;
use crate::replace::tags::run_tag;
use crate::rotation::names;
use crate::runner::{Steps, release_lock, take_lock};
use crate::{Error as Stop, Outcome};

/// Prefix of the tag marking the standby a fresh one replaces (deleted once the switch holds).
pub const RETIRED_TAG_PREFIX: &str = "zdd-retired:";

/// The run id of a fresh standby for `ip` made of `new`: FNV-1a over the inputs, 8 hex digits.
fn fresh_id(scope: &str, new: &NewDroplets) -> String {
    let image = match &new.image {
        Some(i) => i.to_string(),
        None => String::new(),
    };
    let mut h: u32 = 2_166_136_261;
    for part in [
        scope,
        image.as_str(),
        new.user_data.as_deref().unwrap_or(""),
    ] {
        for b in part.bytes().chain([0]) {
            h = (h ^ u32::from(b)).wrapping_mul(16_777_619);
        }
    }
    format!("{h:08x}")
}

/// Promote onto a fresh standby made of `new` (its image or user data; size, region and VPC
/// default to the live droplet's). Through a reserved IP; a load balancer's fleet is replaced
/// with [`crate::replace::run`].
pub async fn promote_fresh(
    client: &Client,
    cfg: &BlueGreenConfig,
    new: &NewDroplets,
    sink: &dyn EventSink,
    cancel: impl Future<Output = ()>,
) -> BlueGreenReport {
    let started = Instant::now();
    let calls_before = client.requests_sent();
    let steps = Steps::new(sink);
    let mut cancel = std::pin::pin!(cancel);
    let result = fresh(client, cfg, new, &steps, &mut cancel).await;
    let mut report = match result {
        Ok(r) => r,
        Err(stop) => BlueGreenReport::stopped(Mode::Promote, stop),
    };
    let mut all = steps.into_timings();
    all.append(&mut report.steps);
    report.steps = all;
    report.api_calls = client.requests_sent() - calls_before;
    report.total = started.elapsed();
    report
}

async fn fresh(
    client: &Client,
    cfg: &BlueGreenConfig,
    new: &NewDroplets,
    steps: &Steps<'_>,
    cancel: &mut std::pin::Pin<&mut impl Future<Output = ()>>,
) -> Result<BlueGreenReport, Stop> {
    if cfg.load_balancer.is_some() {
        return Err(Stop::new(
            Outcome::ConfigError,
            "--image makes a fresh standby behind a reserved IP; behind a load balancer, `zdd-do replace --lb` replaces the droplets with new ones",
        ));
    }
    if new.image.is_none() && new.user_data.is_none() {
        return Err(Stop::new(
            Outcome::ConfigError,
            "a fresh standby needs --image (or --user-data)",
        ));
    }
    cfg.check()
        .map_err(|e| Stop::new(Outcome::ConfigError, e.message))?;
    let roles = &cfg.roles;
    // The pair, and the reserved IP (given, or the one the live droplet holds).
    let s = steps.start(
        Step::Observe,
        format!(
            "droplets tagged `{}` and `{}`, the reserved IP",
            roles.live_tag, roles.standby_tag
        ),
    );
    let read = async {
        let live = client.droplets().list_by_tag(&roles.live_tag).await?;
        let ips = client.reserved_ips().list().await?;
        Ok::<_, do_api::Error>((live, ips))
    }
    .await;
    let (live, ips) = match read {
        Ok(x) => x,
        Err(e) => {
            steps.finish(s, false, e.chain());
            return Err(Stop::api("observing", &e));
        }
    };
    // The reserved IP: given, or the one a live-tagged droplet holds.
    let ip: Ipv4Addr = match cfg.reserved_ip {
        Some(ip) => ip,
        None => match ips
            .iter()
            .find(|r| live.iter().any(|d| r.droplet_id() == Some(d.id)))
        {
            Some(r) => r.ip,
            None => {
                let msg = format!(
                    "no droplet tagged `{}` holds a reserved IP: give --reserved-ip",
                    roles.live_tag
                );
                steps.finish(s, false, msg.clone());
                return Err(Stop::new(Outcome::Refused, msg));
            }
        },
    };
    let scope = scope_for_ip(ip);
    let id = fresh_id(&scope, new);
    let tag = run_tag(&id);
    let retired = format!("{RETIRED_TAG_PREFIX}{id}");
    // The live droplet whose settings the fresh one copies: not this run's own (an earlier
    // attempt may have tagged it live already, mid-way through the tag move).
    let others: Vec<&Droplet> = live.iter().filter(|d| !d.has_tag(&tag)).collect();
    let live = match (others.as_slice(), live.as_slice()) {
        ([one], _) => (*one).clone(),
        ([], [only]) => only.clone(),
        _ => {
            let msg = format!(
                "a fresh standby is made like the live droplet: exactly one must carry `{}`, found {}",
                roles.live_tag,
                live.len()
            );
            steps.finish(s, false, msg.clone());
            return Err(Stop::new(Outcome::Refused, msg));
        }
    };
    steps.finish(
        s,
        true,
        format!("live {} ({}), reserved IP {ip}", live.id, live.name),
    );
    let unlock = format!("`zdd-do unlock --reserved-ip {ip}`");
    let lock = match (&cfg.lock, cfg.dry_run) {
        (Some(l), false) => {
            Some(take_lock(steps, client, &l.config(scope.clone()), &unlock, cancel).await?)
        }
        _ => None,
    };
    let inner = BlueGreenConfig {
        reserved_ip: Some(ip),
        // Held here for the whole run, fresh droplet included.
        lock: None,
        ..cfg.clone()
    };
    let result = tokio::select! {
        biased;
        _ = cancel.as_mut() => Err(Stop::new(
            Outcome::Interrupted,
            format!("interrupted; the fresh standby carries `{tag}`: run the same command again to finish"),
        )),
        r = swap_in(client, &inner, new, &live, &tag, &retired, steps) => r,
    };
    if let Some(lock) = lock {
        release_lock(steps, lock, &unlock).await;
    }
    result
}

/// The live droplet's settings for the fresh standby, with `new`'s overrides.
fn create_request(
    live: &Droplet,
    new: &NewDroplets,
    name: &str,
    tag: &str,
    roles: &super::Roles,
) -> Result<CreateDroplet, Stop> {
    let size = new
        .size
        .clone()
        .or_else(|| live.size_slug.clone())
        .ok_or_else(|| {
            Stop::new(
                Outcome::Refused,
                "the live droplet's size is unknown: give --size",
            )
        })?;
    let image = match (&new.image, live.image.as_ref()) {
        (Some(i), _) => i.clone(),
        (None, Some(i)) => match (&i.slug, i.id) {
            (Some(s), _) => ImageRef::Slug(s.clone()),
            (None, Some(id)) => ImageRef::Id(id),
            (None, None) => {
                return Err(Stop::new(
                    Outcome::Refused,
                    "the live droplet's image is unknown: give --image",
                ));
            }
        },
        (None, None) => {
            return Err(Stop::new(
                Outcome::Refused,
                "the live droplet's image is unknown: give --image",
            ));
        }
    };
    let mut req = CreateDroplet::new(name, size, image)
        .monitoring(
            new.monitoring
                .unwrap_or_else(|| live.features.iter().any(|f| f == "monitoring")),
        )
        .tag(tag)
        .ssh_keys(new.ssh_keys.iter().cloned());
    if let Some(r) = new
        .region
        .clone()
        .or_else(|| live.region_slug().map(str::to_owned))
    {
        req = req.region(r);
    }
    if let Some(v) = new.vpc.clone().or_else(|| live.vpc_uuid.clone()) {
        req = req.vpc_uuid(v);
    }
    if let Some(u) = &new.user_data {
        req = req.user_data(u.clone());
    }
    for t in live.tags.iter().chain(&new.tags) {
        if *t != roles.live_tag && *t != roles.standby_tag && !t.starts_with("zdd-") {
            req = req.tag(t.clone());
        }
    }
    Ok(req)
}

/// Create (or find) the fresh standby, gate it, give it the standby tag, promote onto it; then
/// delete the old standby, or undo.
async fn swap_in(
    client: &Client,
    cfg: &BlueGreenConfig,
    new: &NewDroplets,
    live: &Droplet,
    tag: &str,
    retired: &str,
    steps: &Steps<'_>,
) -> Result<BlueGreenReport, Stop> {
    let roles = &cfg.roles;
    let all = client
        .droplets()
        .list(&DropletFilter::all())
        .await
        .map_err(|e| Stop::api("listing droplets", &e))?;
    let mine: Vec<&Droplet> = all.iter().filter(|d| d.has_tag(tag)).collect();
    // Once the fresh standby has taken a role (an earlier attempt), only the droplets marked
    // retired are the old standby; before that, the droplet carrying the standby tag is.
    let took_role = mine
        .iter()
        .any(|d| d.has_tag(&roles.standby_tag) || d.has_tag(&roles.live_tag));
    let old: Vec<&Droplet> = all
        .iter()
        .filter(|d| !d.has_tag(tag) && !d.has_tag(&roles.live_tag))
        .filter(|d| d.has_tag(retired) || (!took_role && d.has_tag(&roles.standby_tag)))
        .collect();
    // Done already: the fresh droplet is live and the standby is the former live one.
    if let [d] = mine.as_slice()
        && d.has_tag(&roles.live_tag)
        && !d.has_tag(&roles.standby_tag)
        && !cfg.dry_run
    {
        let mut stop = Stop::new(
            Outcome::AlreadyLive,
            format!(
                "{} ({}) from this release is live already: nothing to switch",
                d.id, d.name
            ),
        );
        let gone = retire(client, steps, &old, retired).await;
        if !gone.is_empty() {
            stop.message = format!(
                "{}; the old standby was deleted: {}",
                stop.message,
                gone.join(", ")
            );
        }
        return Ok(BlueGreenReport::stopped(Mode::Promote, stop));
    }
    if cfg.dry_run {
        return Ok(BlueGreenReport::stopped(
            Mode::Promote,
            Stop::new(
                Outcome::DryRun,
                format!(
                    "dry run: a fresh standby made like {} ({}) from {} would take `{}` from {}, then the reserved IP; nothing changed",
                    live.id,
                    live.name,
                    new.image
                        .as_ref()
                        .map_or_else(|| "user data".to_owned(), ToString::to_string),
                    roles.standby_tag,
                    if old.is_empty() {
                        "nobody".to_owned()
                    } else {
                        old.iter()
                            .map(|d| d.name.clone())
                            .collect::<Vec<_>>()
                            .join(", ")
                    }
                ),
            ),
        ));
    }
    // 1. The fresh droplet: found by its run tag, or created once.
    let fresh: Droplet = match mine.as_slice() {
        [d] => (*d).clone(),
        [] => {
            // `blue` gives `blue-<run>`; `blue-<an earlier run>` too.
            let base = match live.name.rsplit_once('-') {
                Some((b, run)) if run.len() == 8 && run.chars().all(|c| c.is_ascii_hexdigit()) => b,
                _ => live.name.as_str(),
            };
            let name = format!("{base}-{}", tag.trim_start_matches("zdd-run:"));
            let req = create_request(live, new, &name, tag, roles)?;
            let s = steps.start(Step::Create, name.clone());
            match client.droplets().create(&req).await {
                Ok(c) => {
                    steps.finish(s, true, format!("id {}", c.droplets[0].id));
                    c.droplets[0].clone()
                }
                Err(e) => {
                    steps.finish(s, false, e.chain());
                    return Err(Stop::api(
                        &format!(
                            "creating the fresh standby {name} (the pair is as before; a create that may have happened is found by `{tag}` when the same command runs again)"
                        ),
                        &e,
                    ));
                }
            }
        }
        many => {
            return Err(Stop::new(
                Outcome::Refused,
                format!(
                    "several droplets carry `{tag}` ({}): delete the extra ones",
                    names(&many.iter().map(|d| (*d).clone()).collect::<Vec<_>>())
                ),
            ));
        }
    };
    // 2. Active, then the gate (its release's body).
    let s = steps.start_on(
        Step::Boot,
        Subject::droplet(fresh.id),
        format!("{} ({})", fresh.id, fresh.name),
    );
    // A create takes about a minute; polled as the assign is, for up to 5 minutes.
    let wait = do_api::WaitOptions::with_timeout(
        cfg.assign_wait
            .timeout
            .max(std::time::Duration::from_secs(300)),
    )
    .interval(
        cfg.assign_wait.initial_interval,
        cfg.assign_wait.max_interval,
    );
    let active = match client.droplets().wait_active(fresh.id, &wait).await {
        Ok(d) => {
            steps.finish(s, true, "active");
            d
        }
        Err(e) => {
            steps.finish(s, false, e.chain());
            return Err(undo(
                client,
                steps,
                &fresh,
                &old,
                roles,
                retired,
                format!("the fresh standby did not become active ({})", e.chain()),
            )
            .await);
        }
    };
    if let Err(why) =
        crate::runner::gate_all(steps, std::slice::from_ref(&active), &cfg.gate()).await
    {
        return Err(undo(client, steps, &active, &old, roles, retired, why).await);
    }
    // 3. The standby tag moves to it; the old standby is marked for deletion first.
    let tag_ids = |t: &str, ds: &[&Droplet], add: bool| {
        let ids: Vec<do_api::DropletId> = ds.iter().map(|d| d.id).collect();
        let t = t.to_owned();
        async move {
            if ids.is_empty() {
                return Ok(());
            }
            if add {
                client.tags().create(&t).await?;
                client.tags().tag_droplets(&t, &ids).await
            } else {
                client.tags().untag_droplets(&t, &ids).await
            }
        }
    };
    let s = steps.start(
        Step::TagMove,
        format!(
            "`{}` from {} to {} ({})",
            roles.standby_tag,
            old.iter()
                .map(|d| d.name.clone())
                .collect::<Vec<_>>()
                .join(", "),
            active.id,
            active.name
        ),
    );
    let moved = async {
        tag_ids(retired, &old, true).await?;
        if !active.has_tag(&roles.standby_tag) {
            tag_ids(&roles.standby_tag, &[&active], true).await?;
        }
        let still: Vec<&Droplet> = old
            .iter()
            .copied()
            .filter(|d| d.has_tag(&roles.standby_tag))
            .collect();
        tag_ids(&roles.standby_tag, &still, false).await
    }
    .await;
    match moved {
        Ok(()) => {
            steps.finish(s, true, "done");
        }
        Err(e) => {
            steps.finish(s, false, e.chain());
            return Err(Stop::api(
                "moving the standby tag to the fresh standby (the reserved IP did not move; run the same command again)",
                &e,
            ));
        }
    }
    // 4. The promote: the reserved IP to the fresh standby, verified, tags swapped.
    let mut report = super::run(
        client,
        cfg,
        Mode::Promote,
        None::<&NoHook>,
        steps.sink,
        std::future::pending(),
    )
    .await;
    match report.outcome {
        Outcome::Switched | Outcome::Resumed | Outcome::AlreadyLive => {
            let gone = retire(client, steps, &old, retired).await;
            if !gone.is_empty() {
                report.message = format!(
                    "{}; the old standby was deleted: {}",
                    report.message,
                    gone.join(", ")
                );
            }
            Ok(report)
        }
        Outcome::NotReady | Outcome::SwitchedBack => {
            // The reserved IP is on the live droplet: put the pair back as it was.
            let stop = undo(
                client,
                steps,
                &active,
                &old,
                roles,
                retired,
                report.message.clone(),
            )
            .await;
            report.message = stop.message;
            Ok(report)
        }
        _ => Ok(report),
    }
}

/// The fresh standby failed before taking traffic: delete it, give the old standby its tag
/// back, unmark it. Returns the stop with `why` and what was done.
async fn undo(
    client: &Client,
    steps: &Steps<'_>,
    fresh: &Droplet,
    old: &[&Droplet],
    roles: &super::Roles,
    retired: &str,
    why: String,
) -> Stop {
    steps.warn(format!(
        "{why}; deleting the fresh standby, the old one keeps its tag"
    ));
    let ids: Vec<do_api::DropletId> = old.iter().map(|d| d.id).collect();
    let restored = async {
        if !ids.is_empty() {
            client.tags().tag_droplets(&roles.standby_tag, &ids).await?;
            // Unmarked, or never marked (the tag may not exist yet): either way not retired.
            let _ = client.tags().untag_droplets(retired, &ids).await;
        }
        client.droplets().delete(fresh.id).await
    }
    .await;
    let _ = client.tags().delete(retired).await;
    match restored {
        Ok(()) => Stop::new(
            Outcome::NotReady,
            format!(
                "{why}; the fresh standby {} ({}) was deleted and the pair is as before: nothing was switched",
                fresh.id, fresh.name
            ),
        ),
        Err(e) => Stop::new(
            Outcome::NotReady,
            format!(
                "{why}; putting the pair back failed ({}): the reserved IP did not move; run the same command again",
                e.chain()
            ),
        ),
    }
}

/// Delete the old standby (once the switch holds) and its mark; the names deleted.
async fn retire(
    client: &Client,
    steps: &Steps<'_>,
    old: &[&Droplet],
    retired: &str,
) -> Vec<String> {
    let mut gone = Vec::new();
    if old.is_empty() {
        return gone;
    }
    for d in old {
        let s = steps.start_on(
            Step::Delete,
            Subject::droplet(d.id),
            format!("{} ({}), the old standby", d.id, d.name),
        );
        match client.droplets().delete(d.id).await {
            Ok(()) => {
                steps.finish(s, true, "deleted");
                gone.push(format!("{} ({})", d.id, d.name));
            }
            Err(e) if e.is_not_found() => {
                steps.finish(s, true, "gone already");
            }
            Err(e) => {
                steps.finish(s, false, e.chain());
                steps.warn(format!(
                    "could not delete the old standby {} ({}): {}; `{retired}` marks it, delete it by hand",
                    d.id,
                    d.name,
                    e.chain()
                ));
            }
        }
    }
    let _ = client.tags().delete(retired).await;
    gone
}
