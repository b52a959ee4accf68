//! Pure planning for `replace`: immutable replacement of the fleet behind a load balancer. From
//! what was observed (the load balancer, the droplets it selects, droplets an earlier run
//! created, the account's droplet limit, the sizes and their prices, the rate-limit headroom) to
//! the droplets to create, in which API calls, and what they cost; or a refusal that says what
//! was found and what to do. No I/O here; unit-tested without HTTP.
//!
//! **Run identity.** Every droplet a run creates carries the run tag `zdd-run:<id>` from its
//! creation on, so any later run finds it. The id is derived from what the run is asked to do
//! (the load balancer, the image, the user data, the size, region, VPC and count; see
//! [`run_id`]): running the same command again after a crash finds its own droplets and creates
//! only the missing ones; a create is never sent twice for a name that may exist. Droplets of
//! a *different* run are not this run's to touch: the plan refuses until that run is finished,
//! rolled back or finalized.

use std::num::NonZeroUsize;

use do_api::droplets::{Droplet, ImageRef, MAX_NAMES_PER_CREATE, SshKeyRef};
use do_api::load_balancers::LoadBalancer;
use do_api::{Size, VpcId};
use serde::Serialize;

use crate::lb::{Membership, membership};
use crate::refusal::{Refusal, describe_all};

/// The prefix of run tags.
pub const RUN_TAG_PREFIX: &str = "zdd-run:";

/// User data as its length: `<123 bytes>`.
fn shown(u: &Option<String>) -> Option<String> {
    u.as_ref().map(|u| format!("<{} bytes>", u.len()))
}

fn redacted<S: serde::Serializer>(u: &Option<String>, s: S) -> Result<S::Ok, S::Error> {
    shown(u).serialize(s)
}

impl NewDroplets {
    /// New droplets from `image` (the release baked in), everything else like the fleet.
    pub fn from_image(image: impl Into<ImageRef>) -> Self {
        NewDroplets {
            image: Some(image.into()),
            ..NewDroplets::default()
        }
    }
}

impl std::fmt::Debug for NewDroplets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewDroplets")
            .field("image", &self.image)
            .field("user_data", &shown(&self.user_data))
            .field("count", &self.count)
            .field("size", &self.size)
            .field("region", &self.region)
            .field("vpc", &self.vpc)
            .field("ssh_keys", &self.ssh_keys)
            .field("monitoring", &self.monitoring)
            .field("tags", &self.tags)
            .field("install", &self.install)
            .finish()
    }
}

impl std::fmt::Debug for Template {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Template")
            .field("size", &self.size)
            .field("region", &self.region)
            .field("vpc", &self.vpc)
            .field("image", &self.image)
            .field("user_data", &shown(&self.user_data))
            .field("ssh_keys", &self.ssh_keys)
            .field("monitoring", &self.monitoring)
            .field("tags", &self.tags)
            .finish()
    }
}

/// What the new droplets are made of: the release (an image and/or user data) and, where
/// given, settings that override the current fleet's.
/// `Debug` and `Serialize` show the user data's length, never its text (cloud-init often
/// carries secrets).
#[derive(Clone, PartialEq, Default, Serialize)]
pub struct NewDroplets {
    /// The image (snapshot id, image id or slug) with the release baked in. `None`: the
    /// fleet's own image, with `user_data` installing the release.
    pub image: Option<ImageRef>,
    /// Cloud-init user data that installs the release.
    #[serde(serialize_with = "redacted")]
    pub user_data: Option<String>,
    /// How many (`None`: as many as the fleet has now).
    pub count: Option<NonZeroUsize>,
    /// Size slug (`None`: the fleet's).
    pub size: Option<String>,
    /// Region slug (`None`: the fleet's).
    pub region: Option<String>,
    /// VPC (`None`: the fleet's).
    pub vpc: Option<VpcId>,
    /// SSH keys to embed (the API does not show a droplet's keys, so they cannot be copied).
    pub ssh_keys: Vec<SshKeyRef>,
    /// Install the monitoring agent (`None`: as the fleet has it).
    pub monitoring: Option<bool>,
    /// Tags besides the fleet's own (never the load balancer's: joining it is a later step).
    pub tags: Vec<String>,
    /// The command that installs the release on each new droplet once it is active (the hook
    /// given to [`super::run`]), as text: part of the run's identity. `None`: no hook.
    pub install: Option<String>,
}

/// What observation found.
#[derive(Debug, Clone, PartialEq)]
pub struct Observation {
    /// The load balancer.
    pub lb: LoadBalancer,
    /// The droplets it selects now: the fleet to replace.
    pub fleet: Vec<Droplet>,
    /// The droplets replace runs keep for this load balancer (tagged `zdd-lb:<id>`, see
    /// [`super::tags`]): created by a run, or a fleet kept after it was replaced. May overlap
    /// `fleet`.
    pub runs: Vec<Droplet>,
    /// How many droplets the account has.
    pub account_droplets: usize,
    /// The account's droplet limit (`None`: the token cannot read the account).
    pub droplet_limit: Option<u32>,
    /// The sizes offered (empty: not read).
    pub sizes: Vec<Size>,
    /// Requests left this hour, as last seen (`None`: not seen).
    pub rate_limit_remaining: Option<u64>,
    /// Now, in Unix seconds (previous fleets are kept until a time).
    pub now_unix: u64,
}

/// The settings every new droplet is created with.
/// `Debug` and `Serialize` show the user data's length, never its text (cloud-init often
/// carries secrets).
#[derive(Clone, PartialEq, Serialize)]
pub struct Template {
    /// Size slug.
    pub size: String,
    /// Region slug.
    pub region: String,
    /// VPC, when the fleet has one.
    pub vpc: Option<VpcId>,
    /// Image.
    pub image: ImageRef,
    /// User data.
    #[serde(serialize_with = "redacted")]
    pub user_data: Option<String>,
    /// SSH keys.
    pub ssh_keys: Vec<SshKeyRef>,
    /// Monitoring agent.
    pub monitoring: bool,
    /// Tags: the run tag, `zdd-lb:<load balancer id>`, then the fleet's own and those given.
    pub tags: Vec<String>,
}

/// What the new droplets cost while both fleets run, from the size's hourly price.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct CostEstimate {
    /// Hourly price of one new droplet, in US dollars.
    pub hourly_each: f64,
    /// How many are created.
    pub droplets: usize,
    /// For how long they are counted (the deploy's estimated length plus the time the previous
    /// fleet is kept), in minutes.
    pub minutes: f64,
    /// `hourly_each × droplets × hours`, billed per second with a 60 s minimum each.
    pub usd: f64,
}

/// What to do.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReplacePlan {
    /// This run's tag, `zdd-run:<id>`.
    pub run_tag: String,
    /// How the load balancer selects droplets (how the new ones join and the old ones leave).
    pub membership: Membership,
    /// What every new droplet is created with.
    pub template: Template,
    /// This run's droplets an earlier attempt already created: kept, not created again.
    pub adopted: Vec<String>,
    /// Names still to create, one inner list per create call (at most 10 names each).
    pub creates: Vec<Vec<String>>,
    /// The fleet being replaced that is still in the load balancer (without this run's own
    /// droplets, which an earlier attempt may have put in).
    pub old: Vec<Droplet>,
    /// The fleet being replaced that an earlier attempt already took out (tagged
    /// `zdd-prev:<this run>`).
    pub left: Vec<Droplet>,
    /// Previous fleets of earlier runs whose keep time is up: deleted before anything is
    /// created.
    pub expired: Vec<Droplet>,
    /// API requests the run is expected to make.
    pub api_requests: u64,
    /// What the surge costs, when the size's price is known.
    pub cost: Option<CostEstimate>,
}

impl ReplacePlan {
    /// Every new droplet's name, adopted ones first.
    pub fn names(&self) -> Vec<String> {
        self.adopted
            .iter()
            .cloned()
            .chain(self.creates.iter().flatten().cloned())
            .collect()
    }
}

/// A short stable id for a run asked to do `new` behind `lb`: FNV-1a over the inputs, 8 hex
/// digits. The same command gives the same id, so a re-run finds its own droplets.
pub fn run_id(lb: &LoadBalancer, new: &NewDroplets) -> String {
    let image = match &new.image {
        Some(ImageRef::Id(id)) => format!("id:{id}"),
        Some(ImageRef::Slug(s)) => format!("slug:{s}"),
        None => String::new(),
    };
    let parts = [
        lb.id.to_string(),
        image,
        new.user_data.clone().unwrap_or_default(),
        new.size.clone().unwrap_or_default(),
        new.region.clone().unwrap_or_default(),
        new.vpc.as_ref().map(|v| v.to_string()).unwrap_or_default(),
        new.count.map(|c| c.to_string()).unwrap_or_default(),
        new.install.clone().unwrap_or_default(),
    ];
    let mut h: u32 = 2_166_136_261;
    for part in parts {
        for b in part.bytes().chain([0]) {
            h = (h ^ u32::from(b)).wrapping_mul(16_777_619);
        }
    }
    format!("{h:08x}")
}

/// The run id in a run tag, if `tag` is one.
pub fn run_of(tag: &str) -> Option<&str> {
    tag.strip_prefix(RUN_TAG_PREFIX)
}

/// One value the fleet shares, or a refusal naming the droplets that differ.
fn shared<T: PartialEq + std::fmt::Debug>(
    fleet: &[Droplet],
    what: &str,
    flag_hint: &str,
    get: impl Fn(&Droplet) -> Option<T>,
) -> Result<Option<T>, String> {
    let mut values: Vec<(T, &Droplet)> = Vec::new();
    for d in fleet {
        if let Some(v) = get(d)
            && !values.iter().any(|(x, _)| *x == v)
        {
            values.push((v, d));
        }
    }
    match values.len() {
        0 => Ok(None),
        1 => Ok(values.pop().map(|(v, _)| v)),
        _ => Err(format!(
            "the fleet's droplets differ in {what} ({}): give the new droplets' {what} ({flag_hint})",
            values
                .iter()
                .map(|(v, d)| format!("{} has {v:?}", d.name))
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
}

/// Requests a run makes, beyond the creates: per new droplet a wait for active, joining,
/// and watching; per old one leaving and watching; plus observation, the lock and the tags.
fn requests(new: usize, creates: usize, old: usize) -> u64 {
    // Observation and lock: about 12. Per new droplet: its create's share, about 4 polls until
    // active, joining (1), about 6 looks at the load balancer while it is watched joining.
    // Per old droplet: leaving (1), about 6 looks while it is watched leaving, its tag (1).
    12 + creates as u64 + 11 * new as u64 + 8 * old as u64
}

/// Names for `count` new droplets: `<lb name>-<run id>-<n>`, n from 1 (droplet names allow
/// letters, digits, `.` and `-`; anything else in the load balancer's name becomes `-`).
fn names(lb: &LoadBalancer, id: &str, count: usize) -> Vec<String> {
    let base: String = lb
        .name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c
            } else {
                '-'
            }
        })
        .collect();
    (1..=count).map(|n| format!("{base}-{id}-{n}")).collect()
}

/// Plan a replacement, or refuse. `minutes` is how long the new droplets are expected to run
/// before the old ones are gone (the deploy plus the time the previous fleet is kept), for the
/// cost estimate.
pub fn plan(obs: &Observation, new: &NewDroplets, minutes: f64) -> Result<ReplacePlan, Refusal> {
    let refuse = |reason: String| Refusal {
        reason,
        found: found(obs),
    };
    let id = run_id(&obs.lb, new);
    let run_tag = format!("{RUN_TAG_PREFIX}{id}");
    let members = membership(&obs.lb);
    if obs.fleet.is_empty() {
        return Err(refuse(format!(
            "load balancer {} selects no droplet: replace copies the fleet's settings and takes it out; create the first droplets yourself (or with roll's tools) and run replace for the next release",
            obs.lb.name
        )));
    }
    let in_fleet = |d: &Droplet| obs.fleet.iter().any(|f| f.id == d.id);
    let mine = |d: &Droplet| d.tags.contains(&run_tag);
    // Previous fleets: this run's (left in an earlier attempt), or earlier runs' (deleted once
    // their time is up; otherwise this run waits for them).
    let mut left = Vec::new();
    let mut expired = Vec::new();
    for d in &obs.runs {
        let Some(r) = super::tags::previous_of(d) else {
            continue;
        };
        if r == id {
            if !in_fleet(d) && !mine(d) {
                left.push(d.clone());
            }
            continue;
        }
        let hint = |what: &str| {
            format!(
                "the fleet replace {r} replaced ({}) {what}: run that replace again to finish it, or `zdd-do rollback --lb {}` to undo it",
                d.name, obs.lb.name
            )
        };
        if in_fleet(d) {
            return Err(refuse(hint("is still in the load balancer")));
        }
        match super::tags::kept_until(d) {
            None => {
                return Err(refuse(hint(
                    "has no keep time: that replace did not finish",
                )));
            }
            Some(t) if t > obs.now_unix => {
                return Err(refuse(format!(
                    "the previous fleet ({}) is kept for an instant rollback for {} more minute(s): `zdd-do replace --lb {} --finalize` deletes it now (the deploy can then run), or `zdd-do rollback --lb {}` puts it back",
                    obs.runs
                        .iter()
                        .filter(|x| super::tags::previous_of(x) == Some(r))
                        .map(|x| x.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", "),
                    (t - obs.now_unix).div_ceil(60),
                    obs.lb.name,
                    obs.lb.name
                )));
            }
            Some(_) => expired.push(d.clone()),
        }
    }
    // Droplets of another run, neither serving nor kept: finish or undo that run first.
    let others: Vec<&Droplet> = obs
        .runs
        .iter()
        .filter(|d| !in_fleet(d) && super::tags::previous_of(d).is_none())
        .filter(|d| d.tags.iter().filter_map(|t| run_of(t)).any(|r| r != id))
        .collect();
    if !others.is_empty() {
        return Err(refuse(format!(
            "droplets of another replace are here ({}): run that replace again to finish it, `zdd-do rollback --lb` to undo it, or `zdd-do replace --finalize` to delete what it left",
            others
                .iter()
                .map(|d| d.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    // The fleet being replaced: in the load balancer and not this run's, plus what an earlier
    // attempt took out. Its settings are copied; with none left (the run is done), the
    // fleet's own.
    let old: Vec<Droplet> = obs.fleet.iter().filter(|d| !mine(d)).cloned().collect();
    let replaced: Vec<Droplet> = old.iter().chain(&left).cloned().collect();
    let basis: &[Droplet] = if replaced.is_empty() {
        &obs.fleet
    } else {
        &replaced
    };
    let count = new.count.map_or(basis.len(), NonZeroUsize::get);
    // The template: given values, else what the whole fleet shares.
    let region = match &new.region {
        Some(r) => r.clone(),
        None => shared(basis, "region", "--region", |d| {
            d.region_slug().map(str::to_owned)
        })
        .map_err(&refuse)?
        .ok_or_else(|| refuse("the fleet's region is unknown: give --region".into()))?,
    };
    let size = match &new.size {
        Some(s) => s.clone(),
        None => shared(basis, "size", "--size", |d| d.size_slug.clone())
            .map_err(&refuse)?
            .ok_or_else(|| refuse("the fleet's size is unknown: give --size".into()))?,
    };
    let vpc = match &new.vpc {
        Some(v) => Some(v.clone()),
        None => shared(basis, "VPC", "--vpc", |d| d.vpc_uuid.clone()).map_err(&refuse)?,
    };
    let image = match (&new.image, &new.user_data) {
        (Some(i), _) => i.clone(),
        (None, _) if new.user_data.is_some() || new.install.is_some() => {
            shared(basis, "image", "--image", |d| {
                d.image.as_ref().and_then(|i| {
                    i.slug
                        .clone()
                        .map(ImageRef::Slug)
                        .or(i.id.map(ImageRef::Id))
                })
            })
            .map_err(&refuse)?
            .ok_or_else(|| refuse("the fleet's image is unknown: give --image".into()))?
        }
        (None, _) => {
            return Err(refuse(
                "nothing says what the new droplets run: give --image (a snapshot with the release baked in), --user-data (cloud-init that installs it) or --exec (a command that installs it once they are active)".into(),
            ));
        }
    };
    let monitoring = new.monitoring.unwrap_or_else(|| {
        basis
            .iter()
            .all(|d| d.features.iter().any(|f| f == "monitoring"))
    });
    let lb_tag = match &members {
        Membership::Tag(t) => Some(t.as_str()),
        Membership::DropletIds => None,
    };
    if let Some(t) = new.tags.iter().find(|t| Some(t.as_str()) == lb_tag) {
        return Err(refuse(format!(
            "tag {t} selects droplets for the load balancer: new droplets join it only after their health gate, so leave it out of --tag"
        )));
    }
    // The fleet's common tags, without the load balancer's and zdd-do's own.
    let mut tags = vec![run_tag.clone(), super::tags::lb_tag(&obs.lb.id)];
    if let Some(first) = basis.first() {
        for t in &first.tags {
            let ours = t.starts_with("zdd-");
            let everywhere = basis.iter().all(|d| d.tags.contains(t));
            if !ours && Some(t.as_str()) != lb_tag && everywhere && !tags.contains(t) {
                tags.push(t.clone());
            }
        }
    }
    for t in &new.tags {
        if !tags.contains(t) {
            tags.push(t.clone());
        }
    }
    // Sizes: offered in the region, and priced.
    let size_info = obs.sizes.iter().find(|s| s.slug == size);
    if !obs.sizes.is_empty() {
        match size_info {
            None => {
                return Err(refuse(format!(
                    "size {size} does not exist: give one of the sizes `doctl compute size list` shows"
                )));
            }
            Some(s) if !s.offered_in(&region) => {
                return Err(refuse(format!(
                    "size {size} cannot be created in {region} now: give another --size or --region"
                )));
            }
            Some(_) => {}
        }
    }
    // This run's droplets an earlier attempt created: adopt them by name.
    let all = names(&obs.lb, &id, count);
    let mine: Vec<String> = obs
        .runs
        .iter()
        .chain(&obs.fleet)
        .filter(|d| mine(d))
        .map(|d| d.name.clone())
        .collect();
    let adopted: Vec<String> = all.iter().filter(|n| mine.contains(n)).cloned().collect();
    let to_create: Vec<String> = all.iter().filter(|n| !mine.contains(n)).cloned().collect();
    // The droplet limit, before anything is created.
    if let Some(limit) = obs.droplet_limit
        && obs.account_droplets.saturating_sub(expired.len()) + to_create.len() > limit as usize
    {
        return Err(refuse(format!(
            "the account has {} droplets and a limit of {limit}: creating {} more would exceed it (the old fleet stays until the new one serves); raise the limit in the control panel or delete unused droplets",
            obs.account_droplets.saturating_sub(expired.len()),
            to_create.len()
        )));
    }
    let creates: Vec<Vec<String>> = to_create
        .chunks(MAX_NAMES_PER_CREATE)
        .map(<[String]>::to_vec)
        .collect();
    let api_requests = requests(count, creates.len(), replaced.len()) + expired.len() as u64;
    if let Some(left) = obs.rate_limit_remaining
        && left < api_requests
    {
        return Err(refuse(format!(
            "the run needs about {api_requests} API requests and {left} are left this hour: wait for the quota to refill (it refills continuously), or check what else uses the token"
        )));
    }
    let cost = size_info.map(|s| {
        let hours = (minutes.max(1.0)) / 60.0;
        CostEstimate {
            hourly_each: s.price_hourly,
            droplets: count,
            minutes: minutes.max(1.0),
            usd: s.price_hourly * count as f64 * hours,
        }
    });
    Ok(ReplacePlan {
        run_tag,
        membership: members,
        template: Template {
            size,
            region,
            vpc,
            image,
            user_data: new.user_data.clone(),
            ssh_keys: new.ssh_keys.clone(),
            monitoring,
            tags,
        },
        adopted,
        creates,
        old,
        left,
        expired,
        api_requests,
        cost,
    })
}

fn found(obs: &Observation) -> String {
    let list = describe_all;
    format!(
        "load balancer {} selects {}; droplets of replace runs: {}; {} droplets in the account, limit {}",
        obs.lb.name,
        list(&obs.fleet),
        list(&obs.runs),
        obs.account_droplets,
        obs.droplet_limit
            .map_or_else(|| "unknown".to_owned(), |l| l.to_string())
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn droplet(id: u64, name: &str, tags: &[&str]) -> Droplet {
        serde_json::from_value(serde_json::json!({
            "id": id,
            "name": name,
            "status": "active",
            "tags": tags,
            "features": ["monitoring", "private_networking"],
            "region": {"slug": "nyc3"},
            "size_slug": "s-1vcpu-1gb",
            "vpc_uuid": "760e09ef-dc84-11e8-981e-3cfdfeaae000",
            "image": {"id": 129211873, "slug": "ubuntu-22-04-x64"},
            "networks": {"v4": [{"ip_address": format!("203.0.113.{id}"), "type": "public"}]}
        }))
        .unwrap()
    }

    fn lb() -> LoadBalancer {
        serde_json::from_value(serde_json::json!({
            "id": "4de7ac8b-495b-4884-9a69-1050c6793cd6",
            "name": "web lb",
            "status": "active",
            "tag": "web",
            "droplet_ids": [],
            "health_check": {"protocol": "http", "port": 8080, "path": "/healthz",
                "check_interval_seconds": 10, "response_timeout_seconds": 5,
                "unhealthy_threshold": 3, "healthy_threshold": 5}
        }))
        .unwrap()
    }

    fn size(slug: &str, hourly: f64, regions: &[&str]) -> Size {
        serde_json::from_value(serde_json::json!({
            "slug": slug, "price_hourly": hourly, "price_monthly": hourly * 672.0,
            "regions": regions, "available": true
        }))
        .unwrap()
    }

    fn obs(fleet: usize) -> Observation {
        Observation {
            lb: lb(),
            fleet: (1..=fleet as u64)
                .map(|i| droplet(i, &format!("web-{i}"), &["web", "env:prod"]))
                .collect(),
            runs: vec![],
            account_droplets: fleet + 2,
            droplet_limit: Some(25),
            sizes: vec![size("s-1vcpu-1gb", 0.00893, &["nyc3"])],
            rate_limit_remaining: Some(4900),
            now_unix: 1_796_000_000,
        }
    }

    fn image(id: u64) -> NewDroplets {
        NewDroplets::from_image(do_api::ImageId(id))
    }

    #[test]
    fn a_fleet_is_replaced_by_as_many_droplets_made_like_it() {
        let o = obs(3);
        let p = plan(&o, &image(170_000_001), 30.0).unwrap();
        let id = run_id(&o.lb, &image(170_000_001));
        assert_eq!(p.run_tag, format!("zdd-run:{id}"));
        assert_eq!(
            p.creates,
            [vec![
                format!("web-lb-{id}-1"),
                format!("web-lb-{id}-2"),
                format!("web-lb-{id}-3"),
            ]]
        );
        assert!(p.adopted.is_empty());
        let t = &p.template;
        assert_eq!(
            (t.size.as_str(), t.region.as_str()),
            ("s-1vcpu-1gb", "nyc3")
        );
        assert_eq!(
            t.vpc.as_ref().map(ToString::to_string).as_deref(),
            Some("760e09ef-dc84-11e8-981e-3cfdfeaae000")
        );
        assert_eq!(t.image, ImageRef::Id(do_api::ImageId(170_000_001)));
        assert!(t.monitoring);
        // The run tag, the load balancer's replace tag and the fleet's own tags; never the tag
        // the load balancer selects by.
        assert_eq!(
            t.tags,
            [
                p.run_tag.clone(),
                "zdd-lb:4de7ac8b-495b-4884-9a69-1050c6793cd6".to_owned(),
                "env:prod".to_owned()
            ]
        );
        assert_eq!(p.old.len(), 3);
        let cost = p.cost.unwrap();
        assert_eq!(cost.droplets, 3);
        assert!((cost.usd - 0.00893 * 3.0 * 0.5).abs() < 1e-9, "{cost:?}");
    }

    #[test]
    fn creates_carry_at_most_ten_names() {
        let mut o = obs(23);
        o.account_droplets = 0;
        o.droplet_limit = Some(100);
        let p = plan(&o, &image(1), 10.0).unwrap();
        let sizes: Vec<usize> = p.creates.iter().map(Vec::len).collect();
        assert_eq!(sizes, [10, 10, 3]);
        assert_eq!(p.names().len(), 23);
    }

    #[test]
    fn the_same_command_again_adopts_what_it_created_and_creates_the_rest() {
        let mut o = obs(3);
        let new = image(170_000_001);
        let id = run_id(&o.lb, &new);
        let tag = format!("zdd-run:{id}");
        o.runs = vec![droplet(40, &format!("web-lb-{id}-2"), &[&tag, "env:prod"])];
        let p = plan(&o, &new, 30.0).unwrap();
        assert_eq!(p.adopted, [format!("web-lb-{id}-2")]);
        assert_eq!(
            p.creates,
            [vec![format!("web-lb-{id}-1"), format!("web-lb-{id}-3")]]
        );
        // Another release is another run: its droplets block this one.
        let other = plan(&o, &image(170_000_002), 30.0).unwrap_err();
        assert!(
            other
                .reason
                .contains("droplets of another replace are here"),
            "{other}"
        );
        assert!(other.reason.contains("--finalize"), "{other}");
    }

    #[test]
    fn the_droplet_limit_is_checked_before_anything_is_created() {
        let mut o = obs(3);
        o.account_droplets = 23;
        let r = plan(&o, &image(1), 30.0).unwrap_err();
        assert!(
            r.reason.starts_with(
                "the account has 23 droplets and a limit of 25: creating 3 more would exceed it"
            ),
            "{r}"
        );
        // Exactly at the limit is fine.
        o.account_droplets = 22;
        assert!(plan(&o, &image(1), 30.0).is_ok());
        // An unreadable account is not a refusal (DigitalOcean refuses the create then).
        o.account_droplets = 99;
        o.droplet_limit = None;
        assert!(plan(&o, &image(1), 30.0).is_ok());
    }

    #[test]
    fn the_rate_limit_headroom_is_checked() {
        let mut o = obs(3);
        o.rate_limit_remaining = Some(20);
        let r = plan(&o, &image(1), 30.0).unwrap_err();
        assert!(
            r.reason.contains("API requests and 20 are left this hour"),
            "{r}"
        );
    }

    #[test]
    fn a_fleet_that_differs_needs_the_setting_given() {
        let mut o = obs(2);
        o.fleet[1].size_slug = Some("s-2vcpu-4gb".into());
        let r = plan(&o, &image(1), 30.0).unwrap_err();
        assert!(
            r.reason.starts_with("the fleet's droplets differ in size"),
            "{r}"
        );
        assert!(r.reason.contains("--size"), "{r}");
        let mut given = image(1);
        given.size = Some("s-1vcpu-1gb".into());
        assert_eq!(plan(&o, &given, 30.0).unwrap().template.size, "s-1vcpu-1gb");
    }

    #[test]
    fn sizes_that_do_not_exist_or_are_not_offered_are_refused() {
        let o = obs(2);
        let mut new = image(1);
        new.size = Some("m-64vcpu".into());
        assert!(
            plan(&o, &new, 30.0)
                .unwrap_err()
                .reason
                .contains("size m-64vcpu does not exist")
        );
        new.size = None;
        new.region = Some("sfo3".into());
        assert!(
            plan(&o, &new, 30.0)
                .unwrap_err()
                .reason
                .contains("cannot be created in sfo3")
        );
        // Sizes not read: no check, no estimate.
        let mut o = obs(2);
        o.sizes.clear();
        assert_eq!(plan(&o, &image(1), 30.0).unwrap().cost, None);
    }

    #[test]
    fn something_must_say_what_the_new_droplets_run() {
        let mut new = image(1);
        new.image = None;
        let r = plan(&obs(2), &new, 30.0).unwrap_err();
        assert!(r.reason.contains("give --image"), "{r}");
        // User data alone: the fleet's image, with the release installed by cloud-init.
        new.user_data = Some("#cloud-config\n".into());
        let p = plan(&obs(2), &new, 30.0).unwrap();
        assert_eq!(p.template.image, ImageRef::Slug("ubuntu-22-04-x64".into()));
    }

    #[test]
    fn an_empty_fleet_and_the_load_balancers_tag_are_refused() {
        assert!(
            plan(&obs(0), &image(1), 30.0)
                .unwrap_err()
                .reason
                .contains("selects no droplet")
        );
        let mut new = image(1);
        new.tags = vec!["web".into()];
        let r = plan(&obs(2), &new, 30.0).unwrap_err();
        assert!(
            r.reason
                .starts_with("tag web selects droplets for the load balancer"),
            "{r}"
        );
    }

    #[test]
    fn user_data_never_shows_in_debug_or_json() {
        let mut new = image(1);
        new.user_data = Some("#cloud-config\npassword: hunter2\n".into());
        let p = plan(&obs(2), &new, 30.0).unwrap();
        for shown in [
            format!("{new:?}"),
            format!("{p:?}"),
            serde_json::to_string(&new).unwrap(),
            serde_json::to_string(&p).unwrap(),
        ] {
            assert!(!shown.contains("hunter2"), "{shown}");
            assert!(shown.contains("<32 bytes>"), "{shown}");
        }
    }

    #[test]
    fn run_ids_follow_the_command() {
        let l = lb();
        let a = run_id(&l, &image(1));
        assert_eq!(a, run_id(&l, &image(1)));
        assert_eq!(a.len(), 8);
        assert_ne!(a, run_id(&l, &image(2)));
        let mut more = image(1);
        more.count = NonZeroUsize::new(4);
        assert_ne!(a, run_id(&l, &more));
        assert_eq!(run_of("zdd-run:abc"), Some("abc"));
        assert_eq!(run_of("zdd-out:lb-x"), None);
    }
}
