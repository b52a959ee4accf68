//! Request bodies of the droplet endpoints: [`CreateDroplet`] and what it embeds, and the
//! list filter [`DropletFilter`]. Droplet actions are in `action.rs`.

use reqwest::Method;
use serde::{Deserialize, Serialize};

use crate::client::Request;
use crate::error::{Error, Result};
use crate::ids::{ImageId, SshKeyId, VpcId};
use crate::validate;

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

/// The slug, or the id.
impl std::fmt::Display for ImageRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ImageRef::Slug(s) => f.write_str(s),
            ImageRef::Id(id) => write!(f, "{}", id.0),
        }
    }
}

impl ImageRef {
    pub(super) fn check(&self) -> Result<()> {
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

    pub(super) fn check(&self) -> Result<()> {
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
pub(super) fn check_droplet_name(name: &str) -> Result<()> {
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
/// up to [`MAX_NAMES_PER_CREATE`]. Everything is checked by
/// [`Droplets::create`](super::Droplets::create) before sending: names, the number of names,
/// tags, the backup hour, the size of `user_data`.
///
/// ```
/// use do_api::droplets::CreateDroplet;
/// let req = CreateDroplet::new("web-01", "s-1vcpu-1gb", "ubuntu-22-04-x64")
///     .region("nyc3")
///     .ssh_key(289794)
///     .tag("zdd:web")
///     .monitoring(true);
/// ```
///
/// `Debug` shows the user data's length, never its text: cloud-init often carries secrets.
#[derive(Clone, PartialEq, Serialize)]
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

impl std::fmt::Debug for CreateDroplet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CreateDroplet")
            .field("name", &self.name)
            .field("names", &self.names)
            .field("size", &self.size)
            .field("image", &self.image)
            .field("region", &self.region)
            .field("ssh_keys", &self.ssh_keys)
            .field("backups", &self.backups)
            .field("backup_policy", &self.backup_policy)
            .field("ipv6", &self.ipv6)
            .field("monitoring", &self.monitoring)
            .field("tags", &self.tags)
            .field(
                "user_data",
                &self
                    .user_data
                    .as_ref()
                    .map(|u| format!("<{} bytes>", u.len())),
            )
            .field("volumes", &self.volumes)
            .field("vpc_uuid", &self.vpc_uuid)
            .field("with_droplet_agent", &self.with_droplet_agent)
            .field("public_networking", &self.public_networking)
            .finish()
    }
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

    /// Everything [`Droplets::create`](super::Droplets::create) checks before sending.
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

    pub(super) fn request(&self) -> Result<Request> {
        let req = Request::new(Method::GET, &["v2", "droplets"]);
        Ok(match &self.by {
            FilterBy::All => req,
            FilterBy::Tag(t) => req.query("tag_name", validate::tag_name(t)?),
            FilterBy::Name(n) => req.query("name", validate::non_empty("droplet name filter", n)?),
        })
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn debug_never_shows_the_user_data() {
        let req = CreateDroplet::new("web-1", "s-1vcpu-1gb", "ubuntu-22-04-x64")
            .user_data("#cloud-config\nwrite_files: [{content: hunter2}]\n");
        let shown = format!("{req:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("<48 bytes>"), "{shown}");
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
