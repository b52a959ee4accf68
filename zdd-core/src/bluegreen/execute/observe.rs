//! Observing: which reserved IP, where it points, and the tagged droplets.

use super::*;
use crate::bluegreen::plan::Roles;

/// Find the reserved IP: the one given, or the one IP held by a droplet with either tag.
pub(super) async fn resolve_ip(
    steps: &Steps<'_>,
    client: &Client,
    cfg: &BlueGreenConfig,
) -> Result<Ipv4Addr, Stop> {
    if let Some(ip) = cfg.reserved_ip {
        // Not read before the lock: that read would be a 16th API call on every promote,
        // for the benefit of a typo, which the observation after the lock refuses anyway
        // (the lock tag is removed again; nothing else is touched).
        return Ok(ip);
    }
    let s = steps.start(Step::Observe, "find the reserved IP of the tagged droplets");
    let roles = &cfg.roles;
    let result = async {
        let mut ids = Vec::new();
        for tag in [&roles.live_tag, &roles.standby_tag] {
            ids.extend(
                client
                    .droplets()
                    .list_by_tag(tag)
                    .await?
                    .into_iter()
                    .map(|d| d.id),
            );
        }
        let ips = client.reserved_ips().list().await?;
        Ok::<_, do_api::Error>(
            ips.into_iter()
                .filter(|r| r.droplet_id().is_some_and(|id| ids.contains(&id)))
                .map(|r| r.ip)
                .collect::<Vec<Ipv4Addr>>(),
        )
    }
    .await;
    match result {
        Ok(ips) if ips.len() == 1 => {
            steps.finish(s, true, format!("reserved IP {}", ips[0]));
            Ok(ips[0])
        }
        Ok(ips) => {
            let msg = if ips.is_empty() {
                format!(
                    "no reserved IP is assigned to a droplet tagged `{}` or `{}`; name the reserved IP to deploy",
                    roles.live_tag, roles.standby_tag
                )
            } else {
                let list: Vec<String> = ips.iter().map(|i| i.to_string()).collect();
                format!(
                    "several reserved IPs ({}) are on the tagged droplets; name the reserved IP to deploy",
                    list.join(", ")
                )
            };
            steps.finish(s, false, msg.clone());
            Err(Stop::new(Outcome::Refused, msg))
        }
        Err(e) => {
            steps.finish(s, false, e.chain());
            Err(api_stop("finding the reserved IP", &e))
        }
    }
}

/// The reserved IP and the droplets with either tag.
pub(super) async fn observe(
    steps: &Steps<'_>,
    client: &Client,
    roles: &Roles,
    ip: Ipv4Addr,
) -> Result<Observation, Stop> {
    let s = steps.start(
        Step::Observe,
        format!(
            "droplets tagged `{}` and `{}`, reserved IP {ip}",
            roles.live_tag, roles.standby_tag
        ),
    );
    let result = async {
        let live_tagged = client.droplets().list_by_tag(&roles.live_tag).await?;
        let standby_tagged = client.droplets().list_by_tag(&roles.standby_tag).await?;
        let rip = client.reserved_ips().get(ip).await?;
        Ok::<_, do_api::Error>(Observation {
            ip,
            ip_region: rip.region.as_ref().and_then(|r| r.slug.clone()),
            ip_droplet: rip.droplet.clone(),
            live_tagged,
            standby_tagged,
        })
    }
    .await;
    match result {
        Ok(obs) => {
            let holder = obs
                .ip_droplet
                .as_ref()
                .map(|d| d.id.to_string())
                .unwrap_or_else(|| "nobody".into());
            steps.finish(s, true, format!("reserved IP {ip} on droplet {holder}"));
            Ok(obs)
        }
        Err(e) if e.is_not_found() => {
            let msg = unknown_ip(ip);
            steps.finish(s, false, msg.clone());
            Err(Stop::new(Outcome::Refused, msg))
        }
        Err(e) => {
            steps.finish(s, false, e.chain());
            Err(api_stop("observing", &e))
        }
    }
}
