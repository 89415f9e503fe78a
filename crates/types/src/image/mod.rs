//! Docker's image shapes as the Engine API sends them: the list's summaries, inspect, history,
//! the removal and prune reports, and the JSON progress messages that pull, push, load and
//! import stream.

pub mod history;
pub mod inspect;
pub mod progress;
pub mod remove;
pub mod summary;

pub use history::HistoryItem;
pub use inspect::{GraphDriverData, ImageContainerConfig, ImageInspect, ImageMetadata, RootFs};
pub use progress::{Aux, BuildResult, ErrorDetail, JsonMessage, ProgressDetail, PushResult};
pub use remove::{ImageDeleteItem, ImagesPruneReport};
pub use summary::ImageSummary;
