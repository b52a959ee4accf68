//! Observing: the load balancer, its droplets, the marker, and which droplets are healthy now.

use super::*;

impl Run<'_> {
    pub(super) async fn observe(&mut self, lb: LoadBalancer) -> Result<Observation, Stop> {
        let marker = crate::rolling::plan::marker_tag(&lb.id);
        let membership = crate::rolling::plan::membership(&lb);
        let s = self.steps.start(
            Step::Observe,
            format!(
                "droplets behind {} ({membership}) and tagged `{marker}`",
                lb.name
            ),
        );
        let result = async {
            let selected = match &membership {
                Membership::Tag(t) => self.client.droplets().list_by_tag(t).await?,
                Membership::DropletIds => {
                    let all = self
                        .client
                        .droplets()
                        .list(&do_api::droplets::DropletFilter::all())
                        .await?;
                    all.into_iter()
                        .filter(|d| lb.droplet_ids.contains(&d.id))
                        .collect()
                }
            };
            let marked = self.client.droplets().list_by_tag(&marker).await?;
            Ok::<_, do_api::Error>((selected, marked))
        }
        .await;
        match result {
            Ok((selected, marked)) => {
                let unhealthy = self.unhealthy_now(&selected).await;
                if let Membership::DropletIds = membership {
                    let missing: Vec<String> = lb
                        .droplet_ids
                        .iter()
                        .filter(|id| !selected.iter().any(|d| d.id == **id))
                        .map(|id| id.to_string())
                        .collect();
                    if !missing.is_empty() {
                        self.steps.warn(format!(
                            "the load balancer lists droplets that do not exist: {}",
                            missing.join(", ")
                        ));
                    }
                }
                self.steps.finish(
                    s,
                    true,
                    format!(
                        "{} in rotation, {} carrying `{marker}`",
                        selected.len(),
                        marked.len()
                    ),
                );
                for (d, why) in &unhealthy {
                    self.steps.warn(format!(
                        "droplet {} ({}) is not healthy before the roll ({why}): it serves nothing, so it is updated first",
                        d.id, d.name
                    ));
                }
                self.unhealthy_at_start = unhealthy.iter().map(|(d, _)| d.id).collect();
                Ok(Observation {
                    lb,
                    selected,
                    marked,
                    unhealthy: self.unhealthy_at_start.iter().copied().collect(),
                })
            }
            Err(e) => {
                self.steps.finish(s, false, e.chain());
                Err(api_stop("observing the droplets", &e))
            }
        }
    }

    /// One direct probe of each droplet (any version): those that fail, with why.
    pub(super) async fn unhealthy_now(&self, droplets: &[Droplet]) -> Vec<(Droplet, String)> {
        let check = self.any_version_check();
        let mut out = Vec::new();
        for d in droplets {
            let r = match self.direct_ip(d) {
                Ok(ip) => check.probe_ip(ip).await.map_err(|f| f.to_string()),
                Err(m) => Err(m),
            };
            if let Err(why) = r {
                out.push((d.clone(), why));
            }
        }
        out
    }

    pub(super) fn direct_ip(&self, d: &Droplet) -> Result<IpAddr, String> {
        self.gate().address_of(d)
    }

    /// The check for droplets that may run either version: no expected body.
    pub(super) fn any_version_check(&self) -> HealthGate {
        self.gate().any_version()
    }
}
