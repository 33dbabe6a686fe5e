//! Network namespaces.
//!
//! setns(2) moves only the calling thread, so every switch happens on a dedicated thread that ends right after:
//! Node's main thread and libuv's pool never change namespace, and there is no "switch back" that could fail
//! and leave a pooled thread inside a pod. A socket keeps the namespace it was created in for its whole life,
//! so whatever the thread creates stays usable from every other thread.
use std::fs::File;
use std::thread;

use nix::sched::{CloneFlags, setns};

use crate::error::{Code, NativeError, Result};

/// Runs `work` inside the network namespace at `path` (a bind mount such as `/run/netns/x` or
/// `/proc/<pid>/ns/net`), or right here when there is none.
pub fn run_in<T: Send>(path: Option<&str>, work: impl FnOnce() -> Result<T> + Send) -> Result<T> {
    let Some(path) = path else {
        return work();
    };
    thread::scope(|scope| {
        let spawned = thread::Builder::new()
            .name("ambit-netns".into())
            .spawn_scoped(scope, || {
                enter(path)?;
                work()
            });
        let handle =
            spawned.map_err(|e| NativeError::new(Code::Setns, format!("spawn netns thread: {e}")))?;
        // `work` does not panic on its own; should it, rethrow here rather than invent an error.
        handle
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    })
}

fn enter(path: &str) -> Result<()> {
    let netns =
        File::open(path).map_err(|e| NativeError::new(Code::Netns, format!("open netns {path}: {e}")))?;
    // EINVAL here means the file is not a network namespace.
    setns(&netns, CloneFlags::CLONE_NEWNET)
        .map_err(|errno| NativeError::errno(Code::Setns, format_args!("setns {path}"), errno))
}
