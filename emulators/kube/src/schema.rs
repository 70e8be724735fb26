//! Structural-schema admission for custom resources: NOT YET ENFORCED in this commit (admits all).

use serde_json::Value;

use crate::error::ApiError;
use crate::registry::ResourceDef;

pub fn admit(
    _def: &ResourceDef,
    _name: &str,
    _object: &mut Value,
    _old: Option<&Value>,
    _strict: bool,
) -> Result<(), ApiError> {
    Ok(())
}
