//! Tolerant deserialisation helpers: ModelArts sometimes sends `null` where a list, map, string
//! or object is expected, and a `null` must not make a whole response unreadable.

use serde::{Deserialize, Deserializer};

/// Read `null` (or an absent field, with `#[serde(default)]`) as `T::default()`.
pub(crate) fn nullable<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}
