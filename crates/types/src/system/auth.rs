//! `POST /auth`'s answer (moby's `registry.AuthenticateOKBody`, in its field order).

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AuthResponse {
    /// A token the client may use instead of its password; empty when the registry gave none.
    pub identity_token: String,
    pub status: String,
}
