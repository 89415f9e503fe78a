//! Deserialisation helpers for Docker's loose JSON: clients send `null` for empty lists and
//! maps.

use serde::{Deserialize, Deserializer};

/// `null` (or an absent field, with `#[serde(default)]`) reads as the type's default.
pub fn null_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}
