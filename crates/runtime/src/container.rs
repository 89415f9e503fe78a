//! placeholder
pub struct Container;
pub struct CreateOptions;
pub struct ExecOptions;
