//! Droplets (`resources/droplets/` in the official spec; model `models/droplet.yml`): list, get,
//! create, delete (one or by tag), wait until active, and droplet actions.
//!
//! - [`Client::droplets`]: `droplets_list`, `droplets_get`, `droplets_create`, `droplets_destroy`,
//!   `droplets_destroy_byTag`.
//! - [`Client::droplet_actions`]: `dropletActions_list`, `dropletActions_post`,
//!   `dropletActions_post_byTag`, `dropletActions_get`.
//!
//! One request type, [`CreateDroplet`], covers both create shapes: [`CreateDroplet::new`] sends
//! `name` (one droplet), [`CreateDroplet::many`] sends `names` (1 to 10 droplets, DigitalOcean's
//! limit, checked before sending). Both answer with [`CreatedDroplets`].
//!
//! Retries: creating droplets is never repeated after a 5xx or a timeout (it could create twice).
//! Droplet actions are repeated only when doing them twice leaves the droplet as doing them once
//! would; see [`DropletAction::is_idempotent`].

use std::net::{Ipv4Addr, Ipv6Addr};

use reqwest::Method;
use serde::{Deserialize, Serialize};

use crate::actions::{Action, ActionType};
use crate::client::{Client, Repeat, Request};
use crate::common::Region;
use crate::error::{Error, Result, none_if_not_found};
use crate::ids::{ActionId, DropletId, ImageId, SshKeyId, VpcId};
use crate::pagination::Page;
use crate::validate;
use crate::wait::{Check, WaitOptions, until};

crate::string_enum! {
    /// A droplet's status (`new`, `active`, `off`, `archive`).
    pub enum DropletStatus {
        /// Being created.
        New => "new",
        /// Running.
        Active => "active",
        /// Powered off.
        Off => "off",
        /// Destroyed, kept for billing.
        Archive => "archive",
    }
}

crate::string_enum! {
    /// Whether an address is on the public internet or the VPC.
    pub enum NetworkType {
        /// Reachable from the internet.
        Public => "public",
        /// Reachable inside the VPC.
        Private => "private",
    }
}

/// A droplet (`resources/droplets/models/droplet.yml`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Droplet {
    /// The droplet's id.
    pub id: DropletId,
    /// Its name (hostname).
    pub name: String,
    /// `new`, `active`, `off` or `archive`.
    pub status: DropletStatus,
    /// Memory in MiB.
    #[serde(default)]
    pub memory: Option<u64>,
    /// Virtual CPUs.
    #[serde(default)]
    pub vcpus: Option<u64>,
    /// Disk in GiB.
    #[serde(default)]
    pub disk: Option<u64>,
    /// Whether the droplet is locked against actions.
    #[serde(default)]
    pub locked: bool,
    /// Creation time (ISO 8601).
    #[serde(default)]
    pub created_at: Option<String>,
    /// Enabled features (`backups`, `ipv6`, `private_networking`, ...).
    #[serde(default)]
    pub features: Vec<String>,
    /// Backup image ids.
    #[serde(default)]
    pub backup_ids: Vec<u64>,
    /// Snapshot image ids.
    #[serde(default)]
    pub snapshot_ids: Vec<u64>,
    /// Attached volume ids.
    #[serde(default)]
    pub volume_ids: Vec<String>,
    /// The image it was built from.
    #[serde(default)]
    pub image: Option<DropletImage>,
    /// Its size.
    #[serde(default)]
    pub size: Option<DropletSize>,
    /// Its size's slug.
    #[serde(default)]
    pub size_slug: Option<String>,
    /// Its addresses.
    #[serde(default)]
    pub networks: Networks,
    /// Its region.
    #[serde(default)]
    pub region: Option<Region>,
    /// Its tags.
    #[serde(default)]
    pub tags: Vec<String>,
    /// Its VPC.
    #[serde(default)]
    pub vpc_uuid: Option<VpcId>,
}

impl Droplet {
    /// The first public IPv4 address.
    pub fn public_ipv4(&self) -> Option<Ipv4Addr> {
        self.ipv4_of(&NetworkType::Public)
    }

    /// The first private (VPC) IPv4 address.
    pub fn private_ipv4(&self) -> Option<Ipv4Addr> {
        self.ipv4_of(&NetworkType::Private)
    }

    fn ipv4_of(&self, kind: &NetworkType) -> Option<Ipv4Addr> {
        self.networks
            .v4
            .iter()
            .filter(|n| &n.kind == kind)
            .find_map(|n| n.ip_address.parse().ok())
    }

    /// The region's slug (`nyc3`).
    pub fn region_slug(&self) -> Option<&str> {
        self.region.as_ref()?.slug.as_deref()
    }

    /// Whether the droplet carries `tag` (tags are case-stable, so compared exactly).
    pub fn has_tag(&self, tag: &str) -> bool {
        self.tags.iter().any(|t| t == tag)
    }

    /// `active`.
    pub fn is_active(&self) -> bool {
        self.status == DropletStatus::Active
    }
}

/// A droplet's addresses.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Networks {
    /// IPv4 addresses.
    #[serde(default)]
    pub v4: Vec<NetworkV4>,
    /// IPv6 addresses.
    #[serde(default)]
    pub v6: Vec<NetworkV6>,
}

/// One IPv4 address (`models/network_v4.yml`). `gateway` is the string `"nil"` on private
/// addresses in the official examples, so addresses stay strings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct NetworkV4 {
    /// The address.
    pub ip_address: String,
    /// Its netmask.
    #[serde(default)]
    pub netmask: Option<String>,
    /// Its gateway (`"nil"` when there is none).
    #[serde(default)]
    pub gateway: Option<String>,
    /// `public` or `private`.
    #[serde(rename = "type")]
    pub kind: NetworkType,
}

/// One IPv6 address (`models/network_v6.yml`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct NetworkV6 {
    /// The address.
    pub ip_address: String,
    /// Prefix length.
    #[serde(default)]
    pub netmask: Option<u32>,
    /// Its gateway.
    #[serde(default)]
    pub gateway: Option<String>,
    /// `public`.
    #[serde(rename = "type")]
    pub kind: NetworkType,
}

impl NetworkV6 {
    /// The address, parsed.
    pub fn ip(&self) -> Option<Ipv6Addr> {
        self.ip_address.parse().ok()
    }
}

/// The image a droplet runs (`resources/images/models/image.yml`, the fields we use).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct DropletImage {
    /// Image id.
    #[serde(default)]
    pub id: Option<ImageId>,
    /// Display name.
    #[serde(default)]
    pub name: Option<String>,
    /// Distribution.
    #[serde(default)]
    pub distribution: Option<String>,
    /// Slug, for public images.
    #[serde(default)]
    pub slug: Option<String>,
    /// Whether the image is public.
    #[serde(default)]
    pub public: Option<bool>,
}

/// A droplet's size (`resources/sizes/models/size.yml`, the fields we use).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct DropletSize {
    /// Slug such as `s-1vcpu-1gb`.
    pub slug: String,
    /// Memory in MiB.
    #[serde(default)]
    pub memory: Option<u64>,
    /// Virtual CPUs.
    #[serde(default)]
    pub vcpus: Option<u64>,
    /// Disk in GiB.
    #[serde(default)]
    pub disk: Option<u64>,
    /// Monthly price in USD.
    #[serde(default)]
    pub price_monthly: Option<f64>,
    /// Hourly price in USD.
    #[serde(default)]
    pub price_hourly: Option<f64>,
}

// ---------------------------------------------------------------------------------------------
// Requests
// ---------------------------------------------------------------------------------------------

/// Most droplets one create request may make (`droplets_create.yml`: "Up to ten Droplets may
/// be created this way at a time").
pub const MAX_NAMES_PER_CREATE: usize = 10;

/// Longest `user_data` DigitalOcean accepts (`models/droplet_create.yml`: "may not exceed
/// 64 KiB").
pub const MAX_USER_DATA_BYTES: usize = 64 * 1024;

/// An image given by slug (`ubuntu-20-04-x64`, public images) or by numeric id (any image).
/// Sent as a bare string or number (`models/droplet_create.yml`, `image: oneOf string, integer`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ImageRef {
    /// A public image's slug.
    Slug(String),
    /// An image's id.
    Id(ImageId),
}

impl From<&str> for ImageRef {
    fn from(s: &str) -> Self {
        ImageRef::Slug(s.to_owned())
    }
}

impl From<String> for ImageRef {
    fn from(s: String) -> Self {
        ImageRef::Slug(s)
    }
}

impl From<ImageId> for ImageRef {
    fn from(id: ImageId) -> Self {
        ImageRef::Id(id)
    }
}

impl From<u64> for ImageRef {
    fn from(id: u64) -> Self {
        ImageRef::Id(ImageId(id))
    }
}

impl ImageRef {
    fn check(&self) -> Result<()> {
        match self {
            ImageRef::Slug(s) => validate::non_empty("image slug", s).map(drop),
            ImageRef::Id(_) => Ok(()),
        }
    }
}

/// An SSH key given by id or by fingerprint (`models/droplet_create.yml`, `ssh_keys` items
/// `anyOf string, integer`). Sent as a bare number or string.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(untagged)]
pub enum SshKeyRef {
    /// The key's id.
    Id(SshKeyId),
    /// The key's fingerprint (`3b:16:e4:bf:...`).
    Fingerprint(String),
}

impl From<SshKeyId> for SshKeyRef {
    fn from(id: SshKeyId) -> Self {
        SshKeyRef::Id(id)
    }
}

impl From<u64> for SshKeyRef {
    fn from(id: u64) -> Self {
        SshKeyRef::Id(SshKeyId(id))
    }
}

impl From<&str> for SshKeyRef {
    fn from(s: &str) -> Self {
        SshKeyRef::Fingerprint(s.to_owned())
    }
}

impl From<String> for SshKeyRef {
    fn from(s: String) -> Self {
        SshKeyRef::Fingerprint(s)
    }
}

crate::string_enum! {
    /// How often backups run (`models/droplet_backup_policy.yml`, `plan`).
    pub enum BackupPlan {
        /// Every day.
        Daily => "daily",
        /// Once a week.
        Weekly => "weekly",
    }
}

crate::string_enum! {
    /// The day weekly backups run (`models/droplet_backup_policy.yml`, `weekday`).
    pub enum Weekday {
        /// Sunday.
        Sun => "SUN",
        /// Monday.
        Mon => "MON",
        /// Tuesday.
        Tue => "TUE",
        /// Wednesday.
        Wed => "WED",
        /// Thursday.
        Thu => "THU",
        /// Friday.
        Fri => "FRI",
        /// Saturday.
        Sat => "SAT",
    }
}

/// Hours at which a backup window may start (`models/droplet_backup_policy.yml`, `hour` enum).
pub const BACKUP_HOURS: [u8; 6] = [0, 4, 8, 12, 16, 20];

/// A backup policy as sent on create, `enable_backups` and `change_backup_policy`
/// (`models/droplet_backup_policy.yml`; its read-only fields are not sent).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct BackupPolicy {
    /// `daily` or `weekly`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan: Option<BackupPlan>,
    /// The day for weekly backups.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weekday: Option<Weekday>,
    /// The hour (UTC) the backup window starts: 0, 4, 8, 12, 16 or 20.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hour: Option<u8>,
}

impl BackupPolicy {
    /// Daily backups.
    pub fn daily() -> Self {
        BackupPolicy {
            plan: Some(BackupPlan::Daily),
            ..Self::default()
        }
    }

    /// Weekly backups on `day`.
    pub fn weekly(day: Weekday) -> Self {
        BackupPolicy {
            plan: Some(BackupPlan::Weekly),
            weekday: Some(day),
            hour: None,
        }
    }

    /// Start the backup window at `hour` (one of [`BACKUP_HOURS`]).
    #[must_use]
    pub fn hour(mut self, hour: u8) -> Self {
        self.hour = Some(hour);
        self
    }

    fn check(&self) -> Result<()> {
        if let Some(h) = self.hour
            && !BACKUP_HOURS.contains(&h)
        {
            return Err(Error::InvalidInput(format!(
                "backup hour {h} is not allowed; DigitalOcean accepts 0, 4, 8, 12, 16 or 20"
            )));
        }
        Ok(())
    }
}

/// A droplet name as `models/droplet_single_create.yml` accepts it: 1 to 255 of letters,
/// digits, `.` and `-`, ending with a letter or digit (pattern
/// `^[a-zA-Z0-9]?[a-z0-9A-Z.\-]*[a-z0-9A-Z]$`).
fn check_droplet_name(name: &str) -> Result<()> {
    if name.is_empty() {
        return Err(Error::InvalidInput(
            "droplet name is empty; give a hostname such as `web-01`".into(),
        ));
    }
    if name.len() > 255 {
        return Err(Error::InvalidInput(format!(
            "droplet name is {} characters long; DigitalOcean allows at most 255",
            name.len()
        )));
    }
    if let Some(bad) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '-')))
    {
        return Err(Error::InvalidInput(format!(
            "droplet name `{name}` contains `{bad}`; DigitalOcean allows only letters, digits, `.` and `-`"
        )));
    }
    if !name.ends_with(|c: char| c.is_ascii_alphanumeric()) {
        return Err(Error::InvalidInput(format!(
            "droplet name `{name}` must end with a letter or digit"
        )));
    }
    Ok(())
}

/// The body of `POST /v2/droplets` (`models/droplet_single_create.yml` with `name`,
/// `models/droplet_multi_create.yml` with `names`; shared fields in `models/droplet_create.yml`).
///
/// One type covers both shapes: [`CreateDroplet::new`] makes one droplet, [`CreateDroplet::many`]
/// up to [`MAX_NAMES_PER_CREATE`]. Everything is checked by [`Droplets::create`] before sending:
/// names, the number of names, tags, the backup hour, the size of `user_data`.
///
/// ```
/// use do_api::droplets::CreateDroplet;
/// let req = CreateDroplet::new("web-01", "s-1vcpu-1gb", "ubuntu-22-04-x64")
///     .region("nyc3")
///     .ssh_key(289794)
///     .tag("zdd:web")
///     .monitoring(true);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct CreateDroplet {
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    names: Option<Vec<String>>,
    /// Size slug (`s-1vcpu-1gb`).
    pub size: String,
    /// Base image, by slug or id.
    pub image: ImageRef,
    /// Region slug (`nyc3`); a prefix like `nyc` picks any datacenter there. When absent the
    /// droplet may land in any region.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// SSH keys to embed in root's account, by id or fingerprint.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ssh_keys: Vec<SshKeyRef>,
    /// Enable automated backups.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub backups: Option<bool>,
    /// Backup policy (daily when absent and `backups` is true).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub backup_policy: Option<BackupPolicy>,
    /// Enable IPv6.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ipv6: Option<bool>,
    /// Install the monitoring agent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub monitoring: Option<bool>,
    /// Tags to apply (created if missing).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// Cloud-init user data (plain text, at most 64 KiB).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_data: Option<String>,
    /// Block storage volume ids to attach.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub volumes: Vec<String>,
    /// The VPC to join (the region's default VPC when absent).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vpc_uuid: Option<VpcId>,
    /// Install the web-console agent: absent = best effort, `true` = failures are fatal,
    /// `false` = do not install.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub with_droplet_agent: Option<bool>,
    /// `false` creates a droplet without any public address (then `ipv6` must not be true).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub public_networking: Option<bool>,
}

impl CreateDroplet {
    /// One droplet named `name` (sent as `name`).
    pub fn new(
        name: impl Into<String>,
        size: impl Into<String>,
        image: impl Into<ImageRef>,
    ) -> Self {
        Self::with_names(Some(name.into()), None, size.into(), image.into())
    }

    /// One droplet per name, 1 to [`MAX_NAMES_PER_CREATE`] (sent as `names`).
    pub fn many<I, S>(names: I, size: impl Into<String>, image: impl Into<ImageRef>) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let names = names.into_iter().map(Into::into).collect();
        Self::with_names(None, Some(names), size.into(), image.into())
    }

    fn with_names(
        name: Option<String>,
        names: Option<Vec<String>>,
        size: String,
        image: ImageRef,
    ) -> Self {
        CreateDroplet {
            name,
            names,
            size,
            image,
            region: None,
            ssh_keys: Vec::new(),
            backups: None,
            backup_policy: None,
            ipv6: None,
            monitoring: None,
            tags: Vec::new(),
            user_data: None,
            volumes: Vec::new(),
            vpc_uuid: None,
            with_droplet_agent: None,
            public_networking: None,
        }
    }

    /// The names of the droplets this request makes.
    pub fn names(&self) -> Vec<&str> {
        match (&self.name, &self.names) {
            (Some(n), _) => vec![n.as_str()],
            (None, Some(ns)) => ns.iter().map(String::as_str).collect(),
            (None, None) => Vec::new(),
        }
    }

    /// Region slug.
    #[must_use]
    pub fn region(mut self, region: impl Into<String>) -> Self {
        self.region = Some(region.into());
        self
    }

    /// Add one SSH key (id or fingerprint).
    #[must_use]
    pub fn ssh_key(mut self, key: impl Into<SshKeyRef>) -> Self {
        self.ssh_keys.push(key.into());
        self
    }

    /// Add SSH keys (ids or fingerprints).
    #[must_use]
    pub fn ssh_keys<I, K>(mut self, keys: I) -> Self
    where
        I: IntoIterator<Item = K>,
        K: Into<SshKeyRef>,
    {
        self.ssh_keys.extend(keys.into_iter().map(Into::into));
        self
    }

    /// Enable or disable automated backups.
    #[must_use]
    pub fn backups(mut self, on: bool) -> Self {
        self.backups = Some(on);
        self
    }

    /// Backup policy (implies nothing about `backups`; set that too).
    #[must_use]
    pub fn backup_policy(mut self, policy: BackupPolicy) -> Self {
        self.backup_policy = Some(policy);
        self
    }

    /// Enable IPv6.
    #[must_use]
    pub fn ipv6(mut self, on: bool) -> Self {
        self.ipv6 = Some(on);
        self
    }

    /// Install the monitoring agent.
    #[must_use]
    pub fn monitoring(mut self, on: bool) -> Self {
        self.monitoring = Some(on);
        self
    }

    /// Add one tag.
    #[must_use]
    pub fn tag(mut self, tag: impl Into<String>) -> Self {
        self.tags.push(tag.into());
        self
    }

    /// Add tags.
    #[must_use]
    pub fn tags<I, S>(mut self, tags: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.tags.extend(tags.into_iter().map(Into::into));
        self
    }

    /// Cloud-init user data.
    #[must_use]
    pub fn user_data(mut self, data: impl Into<String>) -> Self {
        self.user_data = Some(data.into());
        self
    }

    /// Attach a block storage volume.
    #[must_use]
    pub fn volume(mut self, id: impl Into<String>) -> Self {
        self.volumes.push(id.into());
        self
    }

    /// The VPC to join.
    #[must_use]
    pub fn vpc_uuid(mut self, vpc: impl Into<VpcId>) -> Self {
        self.vpc_uuid = Some(vpc.into());
        self
    }

    /// Whether to install the web-console agent (see the field).
    #[must_use]
    pub fn with_droplet_agent(mut self, on: bool) -> Self {
        self.with_droplet_agent = Some(on);
        self
    }

    /// Whether the droplet gets public addresses (default true).
    #[must_use]
    pub fn public_networking(mut self, on: bool) -> Self {
        self.public_networking = Some(on);
        self
    }

    /// Everything [`Droplets::create`] checks before sending.
    pub fn validate(&self) -> Result<()> {
        let names = self.names();
        if names.is_empty() {
            return Err(Error::InvalidInput(
                "no droplet name given; give 1 to 10 names".into(),
            ));
        }
        if names.len() > MAX_NAMES_PER_CREATE {
            return Err(Error::InvalidInput(format!(
                "{} droplet names given; DigitalOcean creates at most {MAX_NAMES_PER_CREATE} per request, split them",
                names.len()
            )));
        }
        for n in &names {
            check_droplet_name(n)?;
        }
        validate::non_empty("droplet size slug", &self.size)?;
        self.image.check()?;
        if let Some(r) = &self.region {
            validate::non_empty("region slug", r)?;
        }
        for t in &self.tags {
            validate::tag_name(t)?;
        }
        if let Some(p) = &self.backup_policy {
            p.check()?;
        }
        if let Some(ud) = &self.user_data
            && ud.len() > MAX_USER_DATA_BYTES
        {
            return Err(Error::InvalidInput(format!(
                "user_data is {} bytes; DigitalOcean accepts at most 64 KiB ({MAX_USER_DATA_BYTES} bytes)",
                ud.len()
            )));
        }
        if self.public_networking == Some(false) && self.ipv6 == Some(true) {
            return Err(Error::InvalidInput(
                "ipv6 needs public networking; drop ipv6(true) or public_networking(false)".into(),
            ));
        }
        Ok(())
    }
}

/// A link to an action started by a request (`shared/models/action_link.yml`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ActionLink {
    /// The action's id.
    pub id: ActionId,
    /// What it does (`create`).
    #[serde(default)]
    pub rel: Option<String>,
    /// Its URL (informational: fetch it with [`Client::actions`], which uses our base URL).
    #[serde(default)]
    pub href: Option<String>,
}

/// The 202 answer of `POST /v2/droplets` (`responses/droplet_create.yml`): `{droplet, links}`
/// for one droplet or `{droplets, links}` for several, both exposed as a list.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(try_from = "RawCreated")]
#[non_exhaustive]
pub struct CreatedDroplets {
    /// The new droplets (status `new`), in the order of the names sent.
    pub droplets: Vec<Droplet>,
    /// `links.actions`: one `create` action per droplet.
    pub actions: Vec<ActionLink>,
}

impl CreatedDroplets {
    /// The ids of the create actions, to wait on with [`crate::actions::Actions::wait`].
    pub fn action_ids(&self) -> Vec<ActionId> {
        self.actions.iter().map(|a| a.id).collect()
    }

    /// The ids of the new droplets.
    pub fn droplet_ids(&self) -> Vec<DropletId> {
        self.droplets.iter().map(|d| d.id).collect()
    }
}

#[derive(Deserialize)]
struct RawCreated {
    #[serde(default)]
    droplet: Option<Droplet>,
    #[serde(default)]
    droplets: Option<Vec<Droplet>>,
    #[serde(default)]
    links: Option<CreatedLinks>,
}

#[derive(Deserialize)]
struct CreatedLinks {
    #[serde(default)]
    actions: Option<Vec<ActionLink>>,
}

impl TryFrom<RawCreated> for CreatedDroplets {
    type Error = String;

    fn try_from(raw: RawCreated) -> Result<Self, String> {
        let droplets = match (raw.droplet, raw.droplets) {
            (Some(d), _) => vec![d],
            (None, Some(ds)) => ds,
            (None, None) => return Err("neither `droplet` nor `droplets` in the answer".into()),
        };
        let actions = raw.links.and_then(|l| l.actions).unwrap_or_default();
        Ok(CreatedDroplets { droplets, actions })
    }
}

/// Which droplets a list covers (`droplets_list.yml` query parameters; `tag_name` and `name`
/// cannot be combined). [`Default`] is every droplet.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DropletFilter {
    by: FilterBy,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
enum FilterBy {
    #[default]
    All,
    Tag(String),
    Name(String),
}

impl DropletFilter {
    /// Every droplet (non-GPU, as the API lists by default).
    pub fn all() -> Self {
        Self::default()
    }

    /// Droplets carrying tag `name` (`?tag_name=`); the name is checked when the list is sent.
    pub fn tag(name: impl Into<String>) -> Self {
        DropletFilter {
            by: FilterBy::Tag(name.into()),
        }
    }

    /// Droplets named exactly `name`, case-insensitively (`?name=`); must not be empty.
    pub fn name(name: impl Into<String>) -> Self {
        DropletFilter {
            by: FilterBy::Name(name.into()),
        }
    }

    fn request(&self) -> Result<Request> {
        let req = Request::new(Method::GET, &["v2", "droplets"]);
        Ok(match &self.by {
            FilterBy::All => req,
            FilterBy::Tag(t) => req.query("tag_name", validate::tag_name(t)?),
            FilterBy::Name(n) => req.query("name", validate::non_empty("droplet name filter", n)?),
        })
    }
}

/// The kind of a [`DropletAction`] and what it needs: `{"type": "...", ...params}` as in
/// `resources/droplets/models/droplet_actions.yml`.
///
/// Retries: [`DropletAction::is_idempotent`] decides whether a request that failed with a 5xx
/// or timed out is sent again.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[non_exhaustive]
pub enum DropletAction {
    /// Graceful reboot.
    Reboot,
    /// Hard reset.
    PowerCycle,
    /// Graceful shutdown (may fail inside the droplet; follow with `power_off`).
    Shutdown,
    /// Hard power off.
    PowerOff,
    /// Power on.
    PowerOn,
    /// Enable backups (`droplet_action_enable_backups`), daily unless a policy is given.
    EnableBackups {
        /// The backup policy.
        #[serde(skip_serializing_if = "Option::is_none")]
        backup_policy: Option<BackupPolicy>,
    },
    /// Disable backups.
    DisableBackups,
    /// Change the backup policy (`droplet_action_change_backup_policy`).
    ChangeBackupPolicy {
        /// The new policy.
        backup_policy: BackupPolicy,
    },
    /// Restore from a backup of this droplet (`droplet_action_restore`).
    Restore {
        /// The backup image's id.
        image: ImageId,
    },
    /// Reset the root password (mailed to the account).
    PasswordReset,
    /// Resize (`droplet_action_resize`).
    Resize {
        /// The new size slug.
        size: String,
        /// Also grow the disk (permanent: disks cannot shrink).
        #[serde(skip_serializing_if = "Option::is_none")]
        disk: Option<bool>,
    },
    /// Rebuild from an image, wiping the disk (`droplet_action_rebuild`).
    Rebuild {
        /// The image, by slug or id.
        image: ImageRef,
    },
    /// Rename (`droplet_action_rename`).
    Rename {
        /// The new name.
        name: String,
    },
    /// Change the kernel of a droplet with an externally managed kernel
    /// (`droplet_action_change_kernel`).
    ChangeKernel {
        /// The kernel's id.
        kernel: u64,
    },
    /// Enable IPv6 (cannot be undone).
    EnableIpv6,
    /// Take a snapshot (`droplet_action_snapshot`).
    Snapshot {
        /// The snapshot's name.
        #[serde(skip_serializing_if = "Option::is_none")]
        name: Option<String>,
    },
    /// Enable private networking. Not in the current spec's type list (private networking is
    /// automatic with VPCs); kept for older accounts and for [`ActionType::EnablePrivateNetworking`].
    EnablePrivateNetworking,
}

impl DropletAction {
    /// `enable_backups` with the default (daily) policy.
    pub fn enable_backups() -> Self {
        DropletAction::EnableBackups {
            backup_policy: None,
        }
    }

    /// `restore` from backup image `image`.
    pub fn restore(image: impl Into<ImageId>) -> Self {
        DropletAction::Restore {
            image: image.into(),
        }
    }

    /// `resize` to `size`, CPU and memory only (`disk` not sent).
    pub fn resize(size: impl Into<String>) -> Self {
        DropletAction::Resize {
            size: size.into(),
            disk: None,
        }
    }

    /// `rebuild` from `image` (slug or id).
    pub fn rebuild(image: impl Into<ImageRef>) -> Self {
        DropletAction::Rebuild {
            image: image.into(),
        }
    }

    /// `rename` to `name`.
    pub fn rename(name: impl Into<String>) -> Self {
        DropletAction::Rename { name: name.into() }
    }

    /// `snapshot` named `name`.
    pub fn snapshot(name: impl Into<String>) -> Self {
        DropletAction::Snapshot {
            name: Some(name.into()),
        }
    }

    /// The action's `type`.
    pub fn kind(&self) -> ActionType {
        match self {
            DropletAction::Reboot => ActionType::Reboot,
            DropletAction::PowerCycle => ActionType::PowerCycle,
            DropletAction::Shutdown => ActionType::Shutdown,
            DropletAction::PowerOff => ActionType::PowerOff,
            DropletAction::PowerOn => ActionType::PowerOn,
            DropletAction::EnableBackups { .. } => ActionType::EnableBackups,
            DropletAction::DisableBackups => ActionType::DisableBackups,
            DropletAction::ChangeBackupPolicy { .. } => ActionType::ChangeBackupPolicy,
            DropletAction::Restore { .. } => ActionType::Restore,
            DropletAction::PasswordReset => ActionType::PasswordReset,
            DropletAction::Resize { .. } => ActionType::Resize,
            DropletAction::Rebuild { .. } => ActionType::Rebuild,
            DropletAction::Rename { .. } => ActionType::Rename,
            DropletAction::ChangeKernel { .. } => ActionType::ChangeKernel,
            DropletAction::EnableIpv6 => ActionType::EnableIpv6,
            DropletAction::Snapshot { .. } => ActionType::Snapshot,
            DropletAction::EnablePrivateNetworking => ActionType::EnablePrivateNetworking,
        }
    }

    /// Whether doing the action twice leaves the droplet as doing it once would; only those are
    /// sent again after a 5xx or a timeout (DigitalOcean may have acted on the first attempt).
    ///
    /// - Repeated: `power_on`, `power_off`, `shutdown` (target power state), `enable_ipv6`,
    ///   `enable_private_networking`, `enable_backups`, `disable_backups`,
    ///   `change_backup_policy` (target setting), `rename`, `change_kernel` (target value).
    ///   If the first attempt did take effect, the repeat may be refused with a 4xx (for
    ///   example "already powered on"); that error is returned as is.
    /// - Never repeated: `reboot`, `power_cycle` (a second restart), `password_reset` (a second
    ///   password), `snapshot` (a second image), `restore`, `rebuild` (wipe the disk again),
    ///   `resize` (a long, billable operation that locks the droplet).
    pub fn is_idempotent(&self) -> bool {
        matches!(
            self,
            DropletAction::PowerOn
                | DropletAction::PowerOff
                | DropletAction::Shutdown
                | DropletAction::EnableIpv6
                | DropletAction::EnablePrivateNetworking
                | DropletAction::EnableBackups { .. }
                | DropletAction::DisableBackups
                | DropletAction::ChangeBackupPolicy { .. }
                | DropletAction::Rename { .. }
                | DropletAction::ChangeKernel { .. }
        )
    }

    /// Whether `POST /v2/droplets/actions?tag_name=` accepts it (`dropletActions_post_byTag.yml`:
    /// `power_cycle`, `power_on`, `power_off`, `shutdown`, `enable_ipv6`, `enable_backups`,
    /// `disable_backups`, `snapshot`).
    pub fn allowed_by_tag(&self) -> bool {
        matches!(
            self,
            DropletAction::PowerCycle
                | DropletAction::PowerOn
                | DropletAction::PowerOff
                | DropletAction::Shutdown
                | DropletAction::EnableIpv6
                | DropletAction::EnableBackups { .. }
                | DropletAction::DisableBackups
                | DropletAction::Snapshot { .. }
        )
    }

    fn repeat(&self) -> Repeat {
        if self.is_idempotent() {
            Repeat::Safe
        } else {
            Repeat::Unsafe
        }
    }

    /// Everything checked before sending: non-empty size, name and image slug, a valid backup
    /// hour.
    pub fn validate(&self) -> Result<()> {
        match self {
            DropletAction::EnableBackups {
                backup_policy: Some(p),
            }
            | DropletAction::ChangeBackupPolicy { backup_policy: p } => p.check(),
            DropletAction::Resize { size, .. } => {
                validate::non_empty("resize size slug", size).map(drop)
            }
            DropletAction::Rebuild { image } => image.check(),
            DropletAction::Rename { name } => check_droplet_name(name),
            DropletAction::Snapshot { name: Some(n) } => {
                validate::non_empty("snapshot name", n).map(drop)
            }
            _ => Ok(()),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Handlers
// ---------------------------------------------------------------------------------------------

/// Handler for `/v2/droplets`. Get one with [`Client::droplets`].
#[derive(Debug, Clone, Copy)]
pub struct Droplets<'c> {
    client: &'c Client,
}

/// Handler for `/v2/droplets/{id}/actions` and `/v2/droplets/actions`. Get one with
/// [`Client::droplet_actions`].
#[derive(Debug, Clone, Copy)]
pub struct DropletActions<'c> {
    client: &'c Client,
}

impl Client {
    /// Droplets: list, get, create, delete, wait until active.
    pub fn droplets(&self) -> Droplets<'_> {
        Droplets { client: self }
    }

    /// Droplet actions: post (on one droplet or by tag), list, get.
    pub fn droplet_actions(&self) -> DropletActions<'_> {
        DropletActions { client: self }
    }
}

impl Droplets<'_> {
    /// Every page of `GET /v2/droplets` (`droplets_list.yml`) matching `filter`, in order.
    pub async fn list(&self, filter: &DropletFilter) -> Result<Vec<Droplet>> {
        self.client.all(&filter.request()?, "droplets").await
    }

    /// One page (1-based) of `GET /v2/droplets` matching `filter`.
    pub async fn list_page(&self, filter: &DropletFilter, page: u32) -> Result<Page<Droplet>> {
        self.client.page(&filter.request()?, "droplets", page).await
    }

    /// Every droplet carrying `tag` (`GET /v2/droplets?tag_name=`).
    pub async fn list_by_tag(&self, tag: &str) -> Result<Vec<Droplet>> {
        self.list(&DropletFilter::tag(tag)).await
    }

    /// Every droplet named `name`, case-insensitively (`GET /v2/droplets?name=`).
    pub async fn list_by_name(&self, name: &str) -> Result<Vec<Droplet>> {
        self.list(&DropletFilter::name(name)).await
    }

    /// `GET /v2/droplets/{droplet_id}` (`droplets_get.yml`).
    pub async fn get(&self, id: DropletId) -> Result<Droplet> {
        let id = id.to_string();
        self.client
            .keyed(
                Request::new(Method::GET, &["v2", "droplets", &id]),
                "droplet",
            )
            .await
    }

    /// Like [`Self::get`], with `Ok(None)` when DigitalOcean answers 404 (no such droplet, or
    /// one already destroyed); every other error is still an error.
    pub async fn get_opt(&self, id: DropletId) -> Result<Option<Droplet>> {
        none_if_not_found(self.get(id).await)
    }

    /// `POST /v2/droplets` (`droplets_create.yml`): one droplet or several, see
    /// [`CreateDroplet`]. Checked before sending; never repeated after a 5xx or a timeout, since
    /// DigitalOcean may already be creating the droplets. Answer 202: the droplets (status
    /// `new`) and their create actions.
    pub async fn create(&self, req: &CreateDroplet) -> Result<CreatedDroplets> {
        req.validate()?;
        let request = Request::new(Method::POST, &["v2", "droplets"])
            .json(req)?
            .repeat(Repeat::Unsafe);
        self.client.json(request).await
    }

    /// `DELETE /v2/droplets/{droplet_id}` (`droplets_destroy.yml`, 204).
    pub async fn delete(&self, id: DropletId) -> Result<()> {
        let id = id.to_string();
        self.client
            .empty(Request::new(Method::DELETE, &["v2", "droplets", &id]))
            .await
            .map(drop)
    }

    /// `DELETE /v2/droplets?tag_name=` (`droplets_destroy_byTag.yml`, 204): deletes **every**
    /// droplet carrying `tag`. The tag is checked first (an empty tag is refused, never sent).
    pub async fn delete_by_tag(&self, tag: &str) -> Result<()> {
        let tag = validate::tag_name(tag)?;
        self.client
            .empty(Request::new(Method::DELETE, &["v2", "droplets"]).query("tag_name", tag))
            .await
            .map(drop)
    }

    /// Poll [`Self::get`] until the droplet is `active`. `new` and `off` (a power-on may be under
    /// way) and unknown statuses keep waiting; `archive` is [`Error::ResourceErrored`]; running
    /// past `opts.timeout` is [`Error::Timeout`].
    pub async fn wait_active(&self, id: DropletId, opts: &WaitOptions) -> Result<Droplet> {
        until(format!("droplet {id}"), opts, || async move {
            let droplet = self.get(id).await?;
            Ok(match &droplet.status {
                DropletStatus::Active => Check::Done(droplet),
                DropletStatus::Archive => Check::Failed(Error::ResourceErrored {
                    what: format!("droplet {id}"),
                    status: droplet.status.to_string(),
                    expected: DropletStatus::Active.to_string(),
                }),
                other => Check::Pending(other.to_string()),
            })
        })
        .await
    }
}

impl DropletActions<'_> {
    /// `POST /v2/droplets/{droplet_id}/actions` (`dropletActions_post.yml`, 201). Repeated after
    /// a 5xx or a timeout only when [`DropletAction::is_idempotent`].
    pub async fn post(&self, id: DropletId, action: &DropletAction) -> Result<Action> {
        action.validate()?;
        let id = id.to_string();
        let req = Request::new(Method::POST, &["v2", "droplets", &id, "actions"])
            .json(action)?
            .repeat(action.repeat());
        self.client.keyed(req, "action").await
    }

    /// `POST /v2/droplets/actions?tag_name=` (`dropletActions_post_byTag.yml`, 201): the action
    /// on every droplet carrying `tag`, one [`Action`] each. Only the types
    /// [`DropletAction::allowed_by_tag`] are accepted; others are refused before sending.
    pub async fn post_by_tag(&self, tag: &str, action: &DropletAction) -> Result<Vec<Action>> {
        let tag = validate::tag_name(tag)?;
        if !action.allowed_by_tag() {
            return Err(Error::InvalidInput(format!(
                "droplet action `{}` cannot be sent by tag; DigitalOcean allows only power_cycle, power_on, power_off, shutdown, enable_ipv6, enable_backups, disable_backups and snapshot by tag: post it to each droplet",
                action.kind()
            )));
        }
        action.validate()?;
        let req = Request::new(Method::POST, &["v2", "droplets", "actions"])
            .query("tag_name", tag)
            .json(action)?
            .repeat(action.repeat());
        let actions: Option<Vec<Action>> = self.client.keyed(req, "actions").await?;
        Ok(actions.unwrap_or_default())
    }

    /// Every page of `GET /v2/droplets/{droplet_id}/actions` (`dropletActions_list.yml`).
    pub async fn list(&self, id: DropletId) -> Result<Vec<Action>> {
        let id = id.to_string();
        self.client
            .all(
                &Request::new(Method::GET, &["v2", "droplets", &id, "actions"]),
                "actions",
            )
            .await
    }

    /// One page (1-based) of `GET /v2/droplets/{droplet_id}/actions`.
    pub async fn list_page(&self, id: DropletId, page: u32) -> Result<Page<Action>> {
        let id = id.to_string();
        self.client
            .page(
                &Request::new(Method::GET, &["v2", "droplets", &id, "actions"]),
                "actions",
                page,
            )
            .await
    }

    /// `GET /v2/droplets/{droplet_id}/actions/{action_id}` (`dropletActions_get.yml`).
    pub async fn get(&self, id: DropletId, action: ActionId) -> Result<Action> {
        let (id, action) = (id.to_string(), action.to_string());
        self.client
            .keyed(
                Request::new(Method::GET, &["v2", "droplets", &id, "actions", &action]),
                "action",
            )
            .await
    }
}

#[cfg(test)]
mod model_tests {
    use super::*;

    #[test]
    fn official_single_droplet_example() {
        let body: serde_json::Value = serde_json::from_str(include_str!(
            "../../fixtures/official/droplets_get/200-single-droplet.json"
        ))
        .unwrap();
        let d: Droplet = serde_json::from_value(body["droplet"].clone()).unwrap();
        assert_eq!(d.id, DropletId(3164444));
        assert!(d.is_active());
        assert_eq!(d.public_ipv4(), Some("192.241.165.154".parse().unwrap()));
        assert_eq!(d.private_ipv4(), Some("10.128.192.124".parse().unwrap()));
        assert_eq!(d.region_slug(), Some("nyc3"));
        assert!(d.has_tag("env:prod") && !d.has_tag("ENV:PROD"));
        assert_eq!(d.networks.v4[0].gateway.as_deref(), Some("nil"));
    }
}

#[cfg(test)]
mod request_tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn every_action_serializes_as_the_spec_says() {
        let cases = [
            (DropletAction::Reboot, json!({"type": "reboot"})),
            (DropletAction::PowerCycle, json!({"type": "power_cycle"})),
            (DropletAction::Shutdown, json!({"type": "shutdown"})),
            (DropletAction::PowerOff, json!({"type": "power_off"})),
            (DropletAction::PowerOn, json!({"type": "power_on"})),
            (
                DropletAction::enable_backups(),
                json!({"type": "enable_backups"}),
            ),
            (
                DropletAction::EnableBackups {
                    backup_policy: Some(BackupPolicy::daily().hour(20)),
                },
                json!({"type": "enable_backups", "backup_policy": {"plan": "daily", "hour": 20}}),
            ),
            (
                DropletAction::DisableBackups,
                json!({"type": "disable_backups"}),
            ),
            (
                DropletAction::ChangeBackupPolicy {
                    backup_policy: BackupPolicy::weekly(Weekday::Sun).hour(20),
                },
                json!({"type": "change_backup_policy",
                       "backup_policy": {"plan": "weekly", "weekday": "SUN", "hour": 20}}),
            ),
            (
                DropletAction::restore(12389723),
                json!({"type": "restore", "image": 12389723}),
            ),
            (
                DropletAction::PasswordReset,
                json!({"type": "password_reset"}),
            ),
            (
                DropletAction::resize("s-2vcpu-2gb"),
                json!({"type": "resize", "size": "s-2vcpu-2gb"}),
            ),
            (
                DropletAction::Resize {
                    size: "s-2vcpu-2gb".into(),
                    disk: Some(true),
                },
                json!({"type": "resize", "size": "s-2vcpu-2gb", "disk": true}),
            ),
            (
                DropletAction::rebuild("ubuntu-20-04-x64"),
                json!({"type": "rebuild", "image": "ubuntu-20-04-x64"}),
            ),
            (
                DropletAction::rebuild(ImageId(63663980)),
                json!({"type": "rebuild", "image": 63663980}),
            ),
            (
                DropletAction::rename("nifty-new-name"),
                json!({"type": "rename", "name": "nifty-new-name"}),
            ),
            (
                DropletAction::ChangeKernel { kernel: 12389723 },
                json!({"type": "change_kernel", "kernel": 12389723}),
            ),
            (DropletAction::EnableIpv6, json!({"type": "enable_ipv6"})),
            (
                DropletAction::snapshot("Nifty New Snapshot"),
                json!({"type": "snapshot", "name": "Nifty New Snapshot"}),
            ),
            (
                DropletAction::Snapshot { name: None },
                json!({"type": "snapshot"}),
            ),
            (
                DropletAction::EnablePrivateNetworking,
                json!({"type": "enable_private_networking"}),
            ),
        ];
        for (action, want) in cases {
            let got = serde_json::to_value(&action).unwrap();
            assert_eq!(got, want, "{action:?}");
            // `kind()` agrees with the `type` sent.
            assert_eq!(got["type"], action.kind().as_str(), "{action:?}");
            assert!(!matches!(action.kind(), ActionType::Unknown(_)));
        }
    }

    #[test]
    fn repeat_and_by_tag_classification() {
        let safe = [
            DropletAction::PowerOn,
            DropletAction::PowerOff,
            DropletAction::Shutdown,
            DropletAction::EnableIpv6,
            DropletAction::DisableBackups,
            DropletAction::rename("a"),
        ];
        for a in &safe {
            assert_eq!(a.repeat(), Repeat::Safe, "{a:?}");
        }
        let unsafe_ = [
            DropletAction::Reboot,
            DropletAction::PowerCycle,
            DropletAction::PasswordReset,
            DropletAction::snapshot("s"),
            DropletAction::restore(1),
            DropletAction::rebuild("x"),
            DropletAction::resize("s-1vcpu-1gb"),
        ];
        for a in &unsafe_ {
            assert_eq!(a.repeat(), Repeat::Unsafe, "{a:?}");
        }
        let by_tag: Vec<String> = [
            DropletAction::Reboot,
            DropletAction::PowerCycle,
            DropletAction::PowerOn,
            DropletAction::PowerOff,
            DropletAction::Shutdown,
            DropletAction::EnableIpv6,
            DropletAction::enable_backups(),
            DropletAction::DisableBackups,
            DropletAction::snapshot("s"),
            DropletAction::rename("a"),
            DropletAction::PasswordReset,
        ]
        .iter()
        .filter(|a| a.allowed_by_tag())
        .map(|a| a.kind().to_string())
        .collect();
        assert_eq!(
            by_tag,
            [
                "power_cycle",
                "power_on",
                "power_off",
                "shutdown",
                "enable_ipv6",
                "enable_backups",
                "disable_backups",
                "snapshot"
            ]
        );
    }

    #[test]
    fn refs_are_untagged() {
        assert_eq!(
            serde_json::to_value(ImageRef::from("x")).unwrap(),
            json!("x")
        );
        assert_eq!(serde_json::to_value(ImageRef::from(7)).unwrap(), json!(7));
        assert_eq!(
            serde_json::to_value([SshKeyRef::from(1), SshKeyRef::from("aa:bb")]).unwrap(),
            json!([1, "aa:bb"])
        );
        let back: Vec<SshKeyRef> = serde_json::from_value(json!([1, "aa:bb"])).unwrap();
        assert_eq!(
            back,
            vec![
                SshKeyRef::Id(SshKeyId(1)),
                SshKeyRef::Fingerprint("aa:bb".into())
            ]
        );
    }

    #[test]
    fn droplet_names() {
        for ok in ["example.com", "web-01", "a", "sub-01.example.com", "X9"] {
            assert!(check_droplet_name(ok).is_ok(), "{ok}");
        }
        for bad in ["", "web_01", "web-", "web.", "a b", "é"] {
            assert!(check_droplet_name(bad).is_err(), "{bad}");
        }
        assert!(check_droplet_name(&"a".repeat(256)).is_err());
        assert!(check_droplet_name(&"a".repeat(255)).is_ok());
    }

    #[test]
    fn create_checks() {
        let base = || CreateDroplet::new("web-01", "s-1vcpu-1gb", "ubuntu-22-04-x64");
        assert!(base().validate().is_ok());
        let ten: Vec<String> = (0..10).map(|i| format!("w{i}")).collect();
        assert!(
            CreateDroplet::many(ten, "s", "i").validate().is_ok(),
            "10 names is the limit, not over it"
        );
        let e = base()
            .public_networking(false)
            .ipv6(true)
            .validate()
            .unwrap_err();
        assert!(
            e.to_string().contains("ipv6 needs public networking"),
            "{e}"
        );
        assert!(
            CreateDroplet::new("w", " ", "i")
                .validate()
                .unwrap_err()
                .to_string()
                .contains("size slug is empty")
        );
        assert!(
            CreateDroplet::new("w", "s", "")
                .validate()
                .unwrap_err()
                .to_string()
                .contains("image slug is empty")
        );
    }

    #[test]
    fn created_needs_a_droplet() {
        let e = serde_json::from_value::<CreatedDroplets>(json!({"links": {}})).unwrap_err();
        assert!(
            e.to_string().contains("neither `droplet` nor `droplets`"),
            "{e}"
        );
        let c: CreatedDroplets =
            serde_json::from_value(json!({"droplets": [], "links": {}})).unwrap();
        assert!(c.droplets.is_empty() && c.actions.is_empty());
    }

    #[test]
    fn filters_build_queries() {
        let q = |f: DropletFilter| f.request().map(|r| r.query);
        assert!(q(DropletFilter::all()).unwrap().is_empty());
        assert_eq!(
            q(DropletFilter::tag("env:prod")).unwrap(),
            vec![("tag_name".to_owned(), "env:prod".to_owned())]
        );
        assert_eq!(
            q(DropletFilter::name("web-01")).unwrap(),
            vec![("name".to_owned(), "web-01".to_owned())]
        );
        assert!(q(DropletFilter::tag("a b")).is_err());
        assert!(q(DropletFilter::name(" ")).is_err());
    }
}
