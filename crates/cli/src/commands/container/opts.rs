//! The options `create` and `run` share (docker's names and flags) and which streams they
//! attach.

/// `docker create`/`docker run` options (the subset muelle passes on; names are docker's).
/// `-h` is `--hostname` here, as in docker: help is `--help` only.
#[derive(clap::Args, Debug, Default)]
#[command(disable_help_flag = true)]
pub struct CreateOpts {
    /// Print usage
    #[arg(long, action = clap::ArgAction::Help)]
    pub help: Option<bool>,
    /// Assign a name to the container
    #[arg(long, value_name = "string")]
    pub name: Option<String>,
    /// Keep STDIN open even if not attached
    #[arg(short, long)]
    pub interactive: bool,
    /// Allocate a pseudo-TTY
    #[arg(short, long)]
    pub tty: bool,
    /// Attach to STDIN, STDOUT or STDERR
    #[arg(short, long = "attach", value_name = "list")]
    pub attach: Vec<String>,
    /// Set environment variables
    #[arg(short, long = "env", value_name = "list")]
    pub env: Vec<String>,
    /// Read in a file of environment variables
    #[arg(long = "env-file", value_name = "list")]
    pub env_file: Vec<String>,
    /// Working directory inside the container
    #[arg(short, long = "workdir", value_name = "string")]
    pub workdir: Option<String>,
    /// Username or UID (format: <name|uid>[:<group|gid>])
    #[arg(short, long, value_name = "string")]
    pub user: Option<String>,
    /// Overwrite the default ENTRYPOINT of the image
    #[arg(long, value_name = "string")]
    pub entrypoint: Option<String>,
    /// Container host name
    #[arg(short = 'h', long, value_name = "string")]
    pub hostname: Option<String>,
    /// Set meta data on a container
    #[arg(short, long = "label", value_name = "list")]
    pub label: Vec<String>,
    /// Signal to stop a container
    #[arg(long, value_name = "string")]
    pub stop_signal: Option<String>,
    /// Timeout (in seconds) to stop a container
    #[arg(long, value_name = "int")]
    pub stop_timeout: Option<i64>,
    /// Pull image before creating ("always"|"missing"|"never")
    #[arg(long, value_name = "string", default_value = "missing")]
    pub pull: String,
    /// Connect a container to a network
    #[arg(long, alias = "net", value_name = "network")]
    pub network: Option<String>,
    /// Publish a container's port(s) to the host
    #[arg(short, long = "publish", value_name = "list")]
    pub publish: Vec<String>,
    /// Expose a port or a range of ports
    #[arg(long, value_name = "list")]
    pub expose: Vec<String>,
    /// Bind mount a volume
    #[arg(short, long = "volume", value_name = "list")]
    pub volume: Vec<String>,
    /// Attach a filesystem mount to the container
    #[arg(long, value_name = "mount")]
    pub mount: Vec<String>,
    /// Mount volumes from the specified container(s)
    #[arg(long = "volumes-from", value_name = "list")]
    pub volumes_from: Vec<String>,
    /// Optional volume driver for the container
    #[arg(long = "volume-driver", value_name = "string")]
    pub volume_driver: Option<String>,
    /// Bind mount Docker API socket and required auth
    #[arg(long = "use-api-socket")]
    pub use_api_socket: bool,
    /// Restart policy to apply when a container exits
    #[arg(long, value_name = "string")]
    pub restart: Option<String>,
    /// Run an init inside the container that forwards signals and reaps processes
    #[arg(long)]
    pub init: bool,
    /// Give extended privileges to this container
    #[arg(long)]
    pub privileged: bool,
    /// Cgroup namespace to use (host|private)
    /// 'host':    Run the container in the Docker host's cgroup namespace
    /// 'private': Run the container in its own private cgroup namespace
    /// '':        Use the cgroup namespace as configured by the
    ///            default-cgroupns-mode option on the daemon (default)
    #[arg(long, value_name = "string", verbatim_doc_comment)]
    pub cgroupns: Option<String>,
    /// Mount the container's root filesystem as read only
    #[arg(long)]
    pub read_only: bool,
    /// Add Linux capabilities
    #[arg(long, value_name = "list")]
    pub cap_add: Vec<String>,
    /// Drop Linux capabilities
    #[arg(long, value_name = "list")]
    pub cap_drop: Vec<String>,
    /// Memory limit
    #[arg(short, long, value_name = "bytes")]
    pub memory: Option<String>,
    /// Number of CPUs
    #[arg(long, value_name = "decimal")]
    pub cpus: Option<f64>,
    /// Mount a tmpfs directory
    #[arg(long, value_name = "list")]
    pub tmpfs: Vec<String>,
    /// Tune container pids limit (set -1 for unlimited)
    #[arg(long, value_name = "int", allow_negative_numbers = true)]
    pub pids_limit: Option<i64>,
    /// CPU shares (relative weight)
    #[arg(short = 'c', long, value_name = "int")]
    pub cpu_shares: Option<i64>,
    /// Swap limit equal to memory plus swap: '-1' to enable unlimited swap
    #[arg(long, value_name = "bytes", allow_hyphen_values = true)]
    pub memory_swap: Option<String>,
    /// Memory soft limit
    #[arg(long, value_name = "bytes")]
    pub memory_reservation: Option<String>,
    /// Limit CPU CFS (Completely Fair Scheduler) period
    #[arg(long, value_name = "int")]
    pub cpu_period: Option<i64>,
    /// Limit CPU CFS (Completely Fair Scheduler) quota
    #[arg(long, value_name = "int", allow_negative_numbers = true)]
    pub cpu_quota: Option<i64>,
    /// CPUs in which to allow execution (0-3, 0,1)
    #[arg(long, value_name = "string")]
    pub cpuset_cpus: Option<String>,
    /// MEMs in which to allow execution (0-3, 0,1)
    #[arg(long, value_name = "string")]
    pub cpuset_mems: Option<String>,
    /// Ulimit options
    #[arg(long, value_name = "ulimit")]
    pub ulimit: Vec<String>,
    /// Security Options
    #[arg(long, value_name = "list")]
    pub security_opt: Vec<String>,
    /// Logging driver for the container
    #[arg(long, value_name = "string")]
    pub log_driver: Option<String>,
    /// Log driver options
    #[arg(long, value_name = "list")]
    pub log_opt: Vec<String>,
    /// Set platform if server is multi-platform capable
    #[arg(long, value_name = "string", env = "DOCKER_DEFAULT_PLATFORM")]
    pub platform: Option<String>,
    /// Suppress the pull output
    #[arg(short, long)]
    pub quiet: bool,
    #[command(flatten)]
    pub health: super::health::HealthOpts,
    #[command(flatten)]
    pub devices: super::devices::DeviceOpts,
    #[command(flatten)]
    pub net: super::network_opts::NetworkOpts,
    #[command(flatten)]
    pub client: super::client_opts::ClientOpts,
    #[command(flatten)]
    pub namespaces: super::namespaces::NamespaceOpts,
    /// IMAGE [COMMAND] [ARG...]
    #[arg(
        required = true,
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_name = "IMAGE [COMMAND] [ARG...]"
    )]
    pub image_and_cmd: Vec<String>,
}

impl CreateOpts {
    pub fn image(&self) -> &str {
        self.image_and_cmd.first().map_or("", String::as_str)
    }

    /// docker's answer to a flag it does not know: such a flag lands first in the trailing
    /// arguments, where the image name should be (flags after the image are its command's).
    pub fn refuse_unknown_flag(&self, _command: &str) -> anyhow::Result<()> {
        crate::usage::refuse_leading_flag(self.image_and_cmd.first().map(String::as_str))
    }

    /// Which streams to attach when running in the foreground (docker's `-a` default).
    pub fn attach_streams(&self) -> (bool, bool, bool) {
        if self.attach.is_empty() {
            return (self.interactive, true, true);
        }
        let has = |n: &str| self.attach.iter().any(|a| a.eq_ignore_ascii_case(n));
        (has("stdin"), has("stdout"), has("stderr"))
    }
}
