//! Docker's container shapes: what clients send to create one (`Config`, `HostConfig`), what
//! inspect, `ps`, stats, update and the other container and exec routes answer, in dockerd's field names
//! and order with the explicit `null`s it sends.

mod config;
mod devices;
mod exec;
pub mod health;
mod host_config;
mod inspect;
mod mount;
mod responses;
mod state;
mod stats;
mod summary;
mod update;

pub use config::ContainerConfig;
pub use devices::{DeviceMapping, DeviceRequest, ThrottleDevice, WeightDevice};
pub use exec::{ExecConfig, ExecInspect, ExecProcessConfig, ExecStartConfig};
pub use health::{Health, HealthConfig, HealthcheckResult};
pub use host_config::{HostConfig, LogConfig, RestartPolicy, SeccompOpt, Ulimit};
pub use inspect::{ContainerInspect, EndpointSettings, GraphDriver, NetworkSettings};
pub use mount::MountPoint;
pub use responses::{
    ContainerCreateResponse, ContainerPruneReport, FilesystemChange, IdResponse, TopResponse,
    WaitError, WaitResponse,
};
pub use state::ContainerState;
pub use stats::{
    BlkioStatEntry, BlkioStats, CpuStats, CpuUsage, MemoryStats, NetworkStats, PidsStats,
    StatsResponse, StorageStats, ThrottlingData, ZERO_READ,
};
pub use summary::{ContainerSummary, SummaryHostConfig, SummaryNetworkSettings, SummaryPort};
pub use update::{ContainerUpdate, ContainerUpdateResponse};
