//! [`IntoTarget`]: what the runs' `target` arguments accept.

use migrate_core::{Target, TargetError};

/// Something that names a target: a `&str` in the target grammar, or a [`Target`].
pub trait IntoTarget {
    /// Parses or passes on the target.
    fn into_target(self) -> Result<Target, TargetError>;
}

impl IntoTarget for &str {
    fn into_target(self) -> Result<Target, TargetError> {
        self.parse()
    }
}
impl IntoTarget for &String {
    fn into_target(self) -> Result<Target, TargetError> {
        self.parse()
    }
}
impl IntoTarget for String {
    fn into_target(self) -> Result<Target, TargetError> {
        self.parse()
    }
}
impl IntoTarget for Target {
    fn into_target(self) -> Result<Target, TargetError> {
        Ok(self)
    }
}
impl IntoTarget for &Target {
    fn into_target(self) -> Result<Target, TargetError> {
        Ok(self.clone())
    }
}
