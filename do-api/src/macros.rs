//! `string_enum!`: an enum for a string field DigitalOcean may grow (statuses, protocols, action
//! types). Known values get variants; anything else is kept in `Unknown(String)` and sent back
//! unchanged, so a new value never breaks decoding.

/// Define a string enum with an `Unknown(String)` catch-all.
///
/// ```ignore
/// string_enum! {
///     /// An action's status.
///     pub enum ActionStatus {
///         InProgress => "in-progress",
///         Completed => "completed",
///     }
/// }
/// ```
macro_rules! string_enum {
    ($(#[$meta:meta])* pub enum $name:ident { $($(#[$vmeta:meta])* $variant:ident => $wire:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
        #[serde(from = "String", into = "String")]
        pub enum $name {
            $($(#[$vmeta])* $variant,)+
            /// A value this version of the client does not know, kept as sent.
            Unknown(String),
        }

        impl $name {
            /// The value as DigitalOcean spells it.
            pub fn as_str(&self) -> &str {
                match self {
                    $($name::$variant => $wire,)+
                    $name::Unknown(s) => s.as_str(),
                }
            }
        }

        impl From<String> for $name {
            fn from(s: String) -> Self {
                match s.as_str() {
                    $($wire => $name::$variant,)+
                    _ => $name::Unknown(s),
                }
            }
        }

        impl From<&str> for $name {
            fn from(s: &str) -> Self {
                $name::from(s.to_owned())
            }
        }

        impl From<$name> for String {
            fn from(v: $name) -> String {
                v.as_str().to_owned()
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

pub(crate) use string_enum;
