//! Every process maand spawns goes through this crate: `ssh` and `rsync` to workers, and
//! local programs (hooks) on the CLI host.
//!
//! Design (spec page 12, style guide §5):
//!
//! * **Commands are data.** [`RemoteCommand`] and [`RsyncSpec`] render to exact argv
//!   vectors ([`ssh_argv`], [`rsync_argv`]) without doing any I/O, so unit tests can assert
//!   the command line byte for byte.
//! * **Real OpenSSH.** We drive the system `ssh` with connection multiplexing
//!   (`ControlMaster=auto`), so a worker costs at most one handshake per maand process and
//!   none while a persisted master lives.
//! * **Live output.** stdout and stderr are read line by line on their own threads and
//!   handed to an [`Observer`] while the command runs; the [`CommandOutput`] keeps the lines
//!   so callers can put the child's stderr into their errors.
//! * **Never hang.** `ConnectTimeout`, `ServerAlive*` and a local deadline bound every call.
//! * **Typed errors.** [`TransportError`] messages name the worker and carry OpenSSH's
//!   own words.

mod classify;
mod error;
mod fan_out;
mod local;
mod net;
mod observer;
mod prereq;
mod process;
mod quote;
mod remote_command;
mod rsync;
mod settings;
mod ssh;
mod target;
mod transport;

pub use error::TransportError;
pub use fan_out::fan_out;
pub use local::{run_local, spawn_local, LocalChild, LocalCommand, Signal};
pub use net::tcp_dial;
pub use observer::{
    CollectingObserver, ConsoleObserver, NullObserver, ObservedEvent, Observer, Tee,
};
pub use prereq::{check_host_tools, find_on_path, PrerequisiteReport, HOST_TOOLS, WORKER_TOOLS};
pub use process::CommandOutput;
pub use quote::{quote, try_quote};
pub use remote_command::RemoteCommand;
pub use rsync::{rsync_argv, Filter, RsyncSpec};
pub use settings::{control_dir_for_bucket, ensure_control_dir, SshSettings};
pub use ssh::{
    control_check_argv, control_exit_argv, destination, ssh_argv, ssh_options, validate_host,
};
pub use target::{Stream, Target};
pub use transport::{exit_master, master_running, Transport};
