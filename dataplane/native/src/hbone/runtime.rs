//! The byte path's own event loop: a tokio runtime shared by every listener and the pool, started on first
//! use. Its threads never enter a pod's netns (sockets are made on netns threads, netns.rs); Node's event loop
//! only runs decisions.
use std::sync::OnceLock;

use tokio::runtime::Runtime;

/// Upstream ztunnel's default; `AMBIT_NATIVE_WORKER_THREADS` overrides it (read once, at first use).
const DEFAULT_WORKER_THREADS: usize = 2;

pub fn runtime() -> &'static Runtime {
    static RUNTIME: OnceLock<Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        let workers = std::env::var("AMBIT_NATIVE_WORKER_THREADS")
            .ok()
            .and_then(|v| v.parse::<usize>().ok())
            .filter(|&n| n > 0)
            .unwrap_or(DEFAULT_WORKER_THREADS);
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(workers)
            .thread_name("ambit-hbone")
            .enable_all()
            .build()
            // Only fails when the process cannot make threads or an epoll instance; nothing can go on then.
            .expect("start the HBONE runtime")
    })
}
