//! The Docker Engine API model, shared by muelled's API (`muelle-api`), its engine
//! (`muelle-engine`) and the `muelle` CLI: the request and response shapes in Docker's field
//! names and order (with the explicit `null`s dockerd sends, and unknown fields kept where
//! Docker echoes them back), the kinds of error every library reports (`errdefs`, mapped to
//! HTTP status codes by the API alone), and Docker's time formats.
//!
//! It owns data shapes and pure conversions only: no I/O, no HTTP, no engine rules. It
//! depends on nothing of muelle's, so every layer above the image crate may use it.

#![forbid(unsafe_code)]

pub mod container;
pub mod duration;
pub mod errdefs;
pub mod image;
pub mod network;
pub mod serde_util;
pub mod system;
pub mod time;
pub mod volume;

pub use errdefs::ErrorKind;
