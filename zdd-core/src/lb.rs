//! Finding a load balancer from what a person gave: its id, or its name. `roll`, `unlock` and
//! blue-green through a load balancer all start here, so a name is looked up one way
//! everywhere; and how a load balancer selects its droplets ([`Membership`]).

use std::fmt;

use do_api::Client;
use do_api::LoadBalancerId;
use do_api::load_balancers::{LoadBalancer, Selector};
use serde::Serialize;

/// Which load balancer: its id, or its name (looked up; two with that name is refused).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "by", content = "value", rename_all = "snake_case")]
pub enum LbRef {
    /// Its UUID.
    Id(LoadBalancerId),
    /// Its name.
    Name(String),
}

impl LbRef {
    /// `Err` (what is wrong) when no load balancer is named: an empty name.
    pub fn check(&self) -> Result<(), String> {
        match self {
            LbRef::Name(n) if n.trim().is_empty() => {
                Err("the load balancer is empty; give its id or name".into())
            }
            _ => Ok(()),
        }
    }

    /// A UUID-shaped value (`8-4-4-4-12` hex digits) is an id; anything else a name.
    pub fn parse(s: &str) -> LbRef {
        let s = s.trim();
        let groups: Vec<&str> = s.split('-').collect();
        let uuid = groups.len() == 5
            && groups
                .iter()
                .zip([8, 4, 4, 4, 12])
                .all(|(g, n)| g.len() == n && g.chars().all(|c| c.is_ascii_hexdigit()));
        if uuid {
            LbRef::Id(s.into())
        } else {
            LbRef::Name(s.to_owned())
        }
    }
}

/// How the load balancer selects its droplets, and so how one is taken out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "by", content = "tag", rename_all = "snake_case")]
pub enum Membership {
    /// Every droplet carrying this tag: take out by untagging.
    Tag(String),
    /// A list of droplet ids: take out by removing the id from the load balancer.
    DropletIds,
}

impl fmt::Display for Membership {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Membership::Tag(t) => write!(f, "droplets tagged `{t}`"),
            Membership::DropletIds => f.write_str("a list of droplet ids"),
        }
    }
}

impl Membership {
    /// Whether `lb`, selecting this way, selects `d` now: `d` carries the tag, or `lb` lists
    /// its id.
    pub fn selects(&self, lb: &LoadBalancer, d: &do_api::droplets::Droplet) -> bool {
        match self {
            Membership::Tag(t) => d.has_tag(t),
            Membership::DropletIds => lb.droplet_ids.contains(&d.id),
        }
    }
}

/// The load balancer's membership.
pub fn membership(lb: &LoadBalancer) -> Membership {
    match lb.selector() {
        Selector::Tag(t) => Membership::Tag(t),
        Selector::DropletIds(_) => Membership::DropletIds,
    }
}

/// Why no load balancer was found.
#[derive(Debug, thiserror::Error)]
pub enum FindError {
    /// No load balancer has this id or name in the account the token belongs to.
    #[error("{}", not_found(.0))]
    NotFound(LbRef),
    /// The API failed, or refused the request (two load balancers with the name is
    /// [`do_api::Error::InvalidInput`] naming both ids).
    #[error(transparent)]
    Api(#[from] do_api::Error),
}

pub(crate) fn not_found(lb: &LbRef) -> String {
    match lb {
        LbRef::Name(n) => format!("no load balancer is named `{n}`"),
        LbRef::Id(id) => format!("no load balancer has the id {id}"),
    }
}

/// The load balancer `lb` names, as DigitalOcean answers: by id, one `GET` (an unknown id is
/// DigitalOcean's 404, [`do_api::Error::is_not_found`]); by name, the list (`Ok(None)`: no
/// load balancer has that name; two with it is [`do_api::Error::InvalidInput`]).
pub async fn lookup(client: &Client, lb: &LbRef) -> do_api::Result<Option<LoadBalancer>> {
    match lb {
        LbRef::Id(id) => client.load_balancers().get(id).await.map(Some),
        LbRef::Name(n) => client.load_balancers().find_by_name(n).await,
    }
}

/// The load balancer `lb` names, or [`FindError::NotFound`] when there is none: an unknown
/// name, or an id DigitalOcean answers 404 for. (A 404 to the list of load balancers is not
/// "no such name": it says the API URL is wrong, and stays an API error.)
pub async fn find(client: &Client, lb: &LbRef) -> Result<LoadBalancer, FindError> {
    match lookup(client, lb).await {
        Ok(Some(found)) => Ok(found),
        Ok(None) => Err(FindError::NotFound(lb.clone())),
        Err(e) if matches!(lb, LbRef::Id(_)) && e.is_not_found() => {
            Err(FindError::NotFound(lb.clone()))
        }
        Err(e) => Err(FindError::Api(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn not_found_says_what_was_asked_for() {
        assert_eq!(
            FindError::NotFound(LbRef::Name("web-lb".into())).to_string(),
            "no load balancer is named `web-lb`"
        );
        assert_eq!(
            FindError::NotFound(LbRef::Id("4de7ac8b-495b-4884-9a69-1050c6793cd6".into()))
                .to_string(),
            "no load balancer has the id 4de7ac8b-495b-4884-9a69-1050c6793cd6"
        );
    }
}
