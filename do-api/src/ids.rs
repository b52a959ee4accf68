//! Typed identifiers, so a droplet id cannot be passed where an action id is expected.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

macro_rules! numeric_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub u64);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl From<u64> for $name {
            fn from(v: u64) -> Self {
                $name(v)
            }
        }

        impl FromStr for $name {
            type Err = std::num::ParseIntError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                s.trim().parse().map($name)
            }
        }
    };
}

macro_rules! string_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub String);

        impl $name {
            /// The id as a string slice.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl From<&str> for $name {
            fn from(v: &str) -> Self {
                $name(v.to_owned())
            }
        }

        impl From<String> for $name {
            fn from(v: String) -> Self {
                $name(v)
            }
        }
    };
}

numeric_id!(
    /// A droplet's numeric id.
    DropletId
);
numeric_id!(
    /// An action's numeric id.
    ActionId
);
numeric_id!(
    /// An image's numeric id.
    ImageId
);
numeric_id!(
    /// An SSH key's numeric id.
    SshKeyId
);
string_id!(
    /// A load balancer's UUID.
    LoadBalancerId
);
string_id!(
    /// A VPC's UUID.
    VpcId
);
string_id!(
    /// A project's UUID.
    ProjectId
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_transparent_on_the_wire() {
        assert_eq!(
            serde_json::to_string(&DropletId(3164444)).unwrap(),
            "3164444"
        );
        let id: LoadBalancerId =
            serde_json::from_str("\"4de7ac8b-495b-4884-9a69-1050c6793cd6\"").unwrap();
        assert_eq!(id.as_str(), "4de7ac8b-495b-4884-9a69-1050c6793cd6");
        assert_eq!(" 42 ".parse::<ActionId>().unwrap(), ActionId(42));
    }
}
