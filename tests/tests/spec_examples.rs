//! Every response example in the official OpenAPI description (`zdd-subset.json`) decodes
//! into the matching do-api model, and every error example has DigitalOcean's error shape.
//!
//! Examples are the media type's `example` and each `examples.<name>.value`. Success examples
//! (2xx) go through [`DECODERS`], keyed by operationId. An operation that has examples but no
//! decoder must be listed in [`PENDING`]; the test fails for any other, and for a `PENDING`
//! entry that has a decoder by now (remove it) or that the spec no longer has.
//!
//! The spec is found as in `zdd_tests::prism::spec_path` (`$ZDD_OPENAPI_SPEC`, else
//! `shared/do-openapi/zdd-subset.json` beside the repository); a missing spec fails the test.

use std::collections::{BTreeMap, BTreeSet};

use do_api::Action;
use do_api::droplets::Droplet;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

/// Decodes one success example; `Ok` carries a short description of what was decoded.
type Decode = fn(&Value) -> Result<String, String>;

/// operationId -> decoder for its 2xx examples. Add a resource's operations here as its
/// models land (and remove them from [`PENDING`]).
const DECODERS: &[(&str, Decode)] = &[
    // Actions (`do_api::Action`).
    ("actions_get", action),
    ("actions_list", actions),
    ("dropletActions_get", action),
    ("dropletActions_list", actions),
    ("dropletActions_post", action),
    ("dropletActions_post_byTag", actions),
    ("reservedIPsActions_get", action),
    ("reservedIPsActions_list", actions),
    ("reservedIPsActions_post", action),
    ("floatingIPsAction_get", action),
    ("floatingIPsAction_list", actions),
    ("floatingIPsAction_post", action),
    // Droplets (`do_api::droplets::Droplet`).
    ("droplets_get", droplet),
    ("droplets_list", droplets),
    ("droplets_create", droplet_or_droplets),
];

/// Operations with success examples whose do-api models are still being written. Other
/// workers remove their entries when they add the decoders above.
const PENDING: &[&str] = &[
    // Floating IPs (`do_api::floating_ips`).
    "floatingIPs_create",
    "floatingIPs_get",
    // Load balancers (`do_api::load_balancers`).
    "loadBalancers_create",
    "loadBalancers_get",
    "loadBalancers_list",
    "loadBalancers_update",
    // Reserved IPs (`do_api::reserved_ips`).
    "reservedIPs_create",
    "reservedIPs_get",
];

/// Error answers documented with another shape than `{id, message}`: (operationId, status).
/// `POST /v2/tags` 400 is `{error, messages, root_causes}`
/// (`resources/tags/responses/tags_bad_request.yml`).
const TAGS_ERROR_SHAPE: &[(&str, &str)] = &[("tags_create", "400")];

fn keyed<T: DeserializeOwned>(v: &Value, key: &str) -> Result<T, String> {
    let inner = v
        .get(key)
        .ok_or_else(|| format!("no `{key}` key (keys: {:?})", keys(v)))?;
    serde_json::from_value(inner.clone()).map_err(|e| format!("`{key}`: {e}"))
}

fn keys(v: &Value) -> Vec<&str> {
    v.as_object()
        .map(|m| m.keys().map(String::as_str).collect())
        .unwrap_or_default()
}

fn check_action(a: &Action) -> Result<(), String> {
    if a.id.0 == 0 {
        return Err("action id 0".into());
    }
    if let do_api::ActionType::Unknown(t) = &a.kind {
        return Err(format!("action type `{t}` is not an ActionType we know"));
    }
    if let do_api::ActionStatus::Unknown(s) = &a.status {
        return Err(format!(
            "action status `{s}` is not an ActionStatus we know"
        ));
    }
    Ok(())
}

fn action(v: &Value) -> Result<String, String> {
    let a: Action = keyed(v, "action")?;
    check_action(&a)?;
    Ok(format!("action {}", a.id))
}

fn actions(v: &Value) -> Result<String, String> {
    let list: Vec<Action> = keyed(v, "actions")?;
    list.iter().try_for_each(check_action)?;
    Ok(format!("{} actions", list.len()))
}

fn check_droplet(d: &Droplet) -> Result<(), String> {
    if d.id.0 == 0 || d.name.is_empty() {
        return Err(format!("droplet without id or name: {d:?}"));
    }
    if let do_api::droplets::DropletStatus::Unknown(s) = &d.status {
        return Err(format!(
            "droplet status `{s}` is not a DropletStatus we know"
        ));
    }
    Ok(())
}

fn droplet(v: &Value) -> Result<String, String> {
    let d: Droplet = keyed(v, "droplet")?;
    check_droplet(&d)?;
    Ok(format!("droplet {}", d.id))
}

fn droplets(v: &Value) -> Result<String, String> {
    let list: Vec<Droplet> = keyed(v, "droplets")?;
    list.iter().try_for_each(check_droplet)?;
    Ok(format!("{} droplets", list.len()))
}

/// `POST /v2/droplets` answers `droplet` for one name and `droplets` for `names`.
fn droplet_or_droplets(v: &Value) -> Result<String, String> {
    if v.get("droplet").is_some() {
        droplet(v)
    } else {
        droplets(v)
    }
}

/// One example of one response.
#[derive(Debug)]
struct Example {
    op: String,
    status: String,
    name: String,
    value: Value,
}

impl Example {
    fn label(&self) -> String {
        format!("{} {} `{}`", self.op, self.status, self.name)
    }
}

fn spec() -> Value {
    let path = zdd_tests::prism::spec_path().unwrap_or_else(|e| panic!("{e}"));
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("parsing {}: {e}", path.display()))
}

/// Every operationId in the spec, and every response example.
fn walk(spec: &Value) -> (BTreeSet<String>, Vec<Example>) {
    let mut ops = BTreeSet::new();
    let mut out = Vec::new();
    let paths = spec["paths"].as_object().expect("`paths` is an object");
    for (path, item) in paths {
        for (method, op) in item.as_object().expect("a path item is an object") {
            if !["get", "put", "post", "delete", "patch"].contains(&method.as_str()) {
                continue;
            }
            let id = op["operationId"]
                .as_str()
                .unwrap_or_else(|| panic!("{method} {path} has no operationId"))
                .to_owned();
            ops.insert(id.clone());
            let Some(responses) = op["responses"].as_object() else {
                continue;
            };
            for (status, resp) in responses {
                let Some(content) = resp["content"].as_object() else {
                    continue;
                };
                for (media, c) in content {
                    if let Some(v) = c.get("example") {
                        out.push(Example {
                            op: id.clone(),
                            status: status.clone(),
                            name: format!("{media} example"),
                            value: v.clone(),
                        });
                    }
                    for (name, ex) in c["examples"].as_object().into_iter().flatten() {
                        let value = ex
                            .get("value")
                            .unwrap_or_else(|| panic!("{id} {status} example {name} has no value"));
                        out.push(Example {
                            op: id.clone(),
                            status: status.clone(),
                            name: name.clone(),
                            value: value.clone(),
                        });
                    }
                }
            }
        }
    }
    (ops, out)
}

fn is_success(status: &str) -> bool {
    status.starts_with('2')
}

#[test]
fn success_examples_decode_into_do_api_models() {
    let spec = spec();
    let (ops, examples) = walk(&spec);
    let decoders: BTreeMap<&str, Decode> = DECODERS.iter().copied().collect();
    assert_eq!(
        decoders.len(),
        DECODERS.len(),
        "an operationId twice in DECODERS"
    );

    let mut failures = Vec::new();
    let mut decoded = BTreeMap::<&str, Vec<String>>::new();
    let mut undecoded = BTreeSet::new();
    for ex in examples.iter().filter(|e| is_success(&e.status)) {
        match decoders.get(ex.op.as_str()) {
            Some(decode) => match decode(&ex.value) {
                Ok(what) => decoded.entry(ex.op.as_str()).or_default().push(what),
                Err(e) => failures.push(format!("{}: {e}", ex.label())),
            },
            None if PENDING.contains(&ex.op.as_str()) => {}
            None => {
                undecoded.insert(ex.op.clone());
            }
        }
    }
    for op in &undecoded {
        failures.push(format!(
            "{op} has success examples but no decoder in DECODERS (add one, or list it in PENDING)"
        ));
    }
    let with_examples: BTreeSet<&str> = examples
        .iter()
        .filter(|e| is_success(&e.status))
        .map(|e| e.op.as_str())
        .collect();
    for op in PENDING {
        if decoders.contains_key(op) {
            failures.push(format!("{op} has a decoder now: remove it from PENDING"));
        } else if !with_examples.contains(op) {
            failures.push(format!(
                "{op} is in PENDING but the spec has no success example for it"
            ));
        }
    }
    for op in decoders.keys() {
        if !ops.contains(*op) {
            failures.push(format!("{op} is in DECODERS but not in the spec"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} problem(s):\n{}",
        failures.len(),
        failures.join("\n")
    );

    // The walk found what the spec is known to hold (guards against a walk that finds nothing).
    assert_eq!(
        decoded.get("droplets_list").map(Vec::len),
        Some(3),
        "{decoded:?}"
    );
    let mut created = decoded.get("droplets_create").cloned().unwrap_or_default();
    created.sort();
    assert_eq!(created, ["2 droplets", "droplet 3164444"], "{decoded:?}");
    assert!(decoded.contains_key("droplets_get"), "{decoded:?}");
    assert!(decoded.contains_key("dropletActions_list"), "{decoded:?}");
}

/// DigitalOcean's error body (`shared/models/error.yml`).
#[derive(Debug, Deserialize)]
#[allow(dead_code)]
struct DoError {
    id: String,
    message: String,
    #[serde(default)]
    request_id: Option<String>,
}

/// `POST /v2/tags` 400 (`shared/models/error_with_root_causes.yml`).
#[derive(Debug, Deserialize)]
#[allow(dead_code)]
struct TagsBadRequest {
    error: String,
    /// `null` in the spec's example.
    messages: Option<Vec<String>>,
    root_causes: Vec<String>,
}

#[test]
fn error_examples_have_the_do_error_shape() {
    let spec = spec();
    let (ops, examples) = walk(&spec);
    let mut failures = Vec::new();
    let mut checked = 0;
    let mut ops_with_errors = BTreeSet::new();
    for ex in examples.iter().filter(|e| !is_success(&e.status)) {
        let other_shape = TAGS_ERROR_SHAPE.contains(&(ex.op.as_str(), ex.status.as_str()));
        let result = if other_shape {
            serde_json::from_value::<TagsBadRequest>(ex.value.clone())
                .map(|e| e.error.is_empty())
                .map_err(|e| e.to_string())
        } else {
            serde_json::from_value::<DoError>(ex.value.clone())
                .map(|e| e.id.is_empty() || e.message.is_empty())
                .map_err(|e| e.to_string())
        };
        match result {
            Ok(false) => {
                checked += 1;
                ops_with_errors.insert(ex.op.as_str());
            }
            Ok(true) => failures.push(format!("{}: empty id or message", ex.label())),
            Err(e) => failures.push(format!("{}: {e}: {}", ex.label(), ex.value)),
        }
    }
    assert!(
        failures.is_empty(),
        "{} problem(s):\n{}",
        failures.len(),
        failures.join("\n")
    );
    // Every operation documents its errors (401, 429, 500, default at least).
    let missing: Vec<_> = ops
        .iter()
        .filter(|op| !ops_with_errors.contains(op.as_str()))
        .collect();
    assert!(missing.is_empty(), "no error examples: {missing:?}");
    assert!(checked >= 4 * ops.len(), "only {checked} error examples");
}
