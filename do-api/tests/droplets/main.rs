//! `/v2/droplets` and droplet actions: every endpoint against the official examples, paging,
//! retries (create is never repeated), waiting, and input checked before sending.

#[path = "../support/mod.rs"]
mod support;

mod actions;
mod create_delete_wait;
mod input;
mod list_get;

use std::time::Duration;

use do_api::droplets::{
    BackupPolicy, CreateDroplet, DropletAction, DropletFilter, DropletStatus, ImageRef,
};
use do_api::{ActionId, ActionStatus, ActionType, DropletId, Error, ImageId};
use serde_json::json;
use support::*;
use wiremock::matchers::{body_json, method, path, query_param, query_param_is_missing};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// The official single-droplet answer with another status.
fn droplet_with_status(status: &str) -> serde_json::Value {
    let mut body = fixture_json("official/droplets_get/200-single-droplet.json");
    body["droplet"]["status"] = json!(status);
    body
}

fn assert_invalid(err: Error, needle: &str) {
    match &err {
        Error::InvalidInput(msg) => assert!(msg.contains(needle), "`{msg}` lacks `{needle}`"),
        other => panic!("expected InvalidInput containing `{needle}`, got {other:?}"),
    }
}

async fn assert_nothing_sent(server: &MockServer) {
    assert_eq!(requests(server).await, Vec::<String>::new());
}
