//! The build context (to be written).
