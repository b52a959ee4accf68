//! Droplets (`resources/droplets/` in the official spec; model `models/droplet.yml`): list, get,
//! create, delete (one or by tag), wait until active, and droplet actions.
//!
//! - [`Client::droplets`](crate::Client::droplets): `droplets_list`, `droplets_get`,
//!   `droplets_create`, `droplets_destroy`, `droplets_destroy_byTag`.
//! - [`Client::droplet_actions`](crate::Client::droplet_actions): `dropletActions_list`,
//!   `dropletActions_post`, `dropletActions_post_byTag`, `dropletActions_get`.
//!
//! One request type, [`CreateDroplet`], covers both create shapes: [`CreateDroplet::new`] sends
//! `name` (one droplet), [`CreateDroplet::many`] sends `names` (1 to 10 droplets, DigitalOcean's
//! limit, checked before sending). Both answer with [`CreatedDroplets`].
//!
//! Retries: creating droplets is never repeated after a 5xx or a timeout (it could create twice).
//! Droplet actions are repeated only when doing them twice leaves the droplet as doing them once
//! would; see [`DropletAction::is_idempotent`].
//!
//! Files: `model.rs` (what the API answers), `request.rs` (the create body and the list
//! filter), `action.rs` (droplet action bodies), `handler.rs` (the two handlers).

mod action;
mod handler;
mod model;
mod request;

pub use action::DropletAction;
pub use handler::{DropletActions, Droplets};
pub use model::{
    ActionLink, CreatedDroplets, Droplet, DropletImage, DropletSize, DropletStatus, NetworkType,
    NetworkV4, NetworkV6, Networks,
};
pub use request::{
    BACKUP_HOURS, BackupPlan, BackupPolicy, CreateDroplet, DropletFilter, ImageRef,
    MAX_NAMES_PER_CREATE, MAX_USER_DATA_BYTES, SshKeyRef, Weekday,
};
