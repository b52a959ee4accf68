//! The account the token belongs to (`resources/account/` in the official spec):
//! `GET /v2/account`. Model: `resources/account/models/account.yml`.
//!
//! Needs the `account:read` scope. It is the cheapest way to check that a token works, and it
//! gives the account's droplet limit (which, the spec says, also needs `droplet:read`).

use reqwest::Method;
use serde::{Deserialize, Serialize};

use crate::client::{Client, Request};
use crate::error::Result;

crate::string_enum! {
    /// The account's standing (`status`).
    pub enum AccountStatus {
        /// In good standing.
        Active => "active",
        /// Something needs attention (see `status_message`).
        Warning => "warning",
        /// Locked: nothing can be created.
        Locked => "locked",
    }
}

/// The team the token acts for, when it was made in a team context (`team`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Team {
    /// The team's unique identifier.
    #[serde(default)]
    pub uuid: String,
    /// The team's name.
    #[serde(default)]
    pub name: String,
}

/// The current user or team (`account`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Account {
    /// How many droplets the user or team may have active at one time.
    pub droplet_limit: u32,
    /// How many floating (reserved) IPs the user or team may have.
    pub floating_ip_limit: u32,
    /// The email address the user registered with.
    pub email: String,
    /// The user's display name (not always sent).
    #[serde(default)]
    pub name: Option<String>,
    /// The user's unique identifier.
    pub uuid: String,
    /// Whether the email address was verified.
    #[serde(default)]
    pub email_verified: bool,
    /// The account's standing.
    pub status: AccountStatus,
    /// More about the standing, for people.
    #[serde(default)]
    pub status_message: String,
    /// The team, when the token was made in a team context.
    #[serde(default)]
    pub team: Option<Team>,
}

/// The account endpoint ([`Client::account`]).
#[derive(Debug, Clone, Copy)]
pub struct AccountApi<'a> {
    client: &'a Client,
}

impl Client {
    /// The account the token belongs to.
    pub fn account(&self) -> AccountApi<'_> {
        AccountApi { client: self }
    }
}

impl AccountApi<'_> {
    /// `GET /v2/account`.
    pub async fn get(&self) -> Result<Account> {
        self.client
            .keyed(Request::new(Method::GET, &["v2", "account"]), "account")
            .await
    }
}
