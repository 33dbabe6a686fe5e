//! The HBONE byte path (DESIGN §2 "decide in TypeScript, move bytes natively", §7; issue 12): TLS 1.3 with
//! rustls, HTTP/2 CONNECT with h2, a client pool and a server, and the copy loop, on a tokio runtime of its
//! own. Wire behaviour matches `dataplane/hbone` (TypeScript) exactly, so either end can talk to the other.
//! Nothing here knows about napi: `crate::hbone_api` adapts it to JavaScript, and the Rust tests drive it
//! directly.
pub mod client;
pub mod dial;
pub mod headers;
pub mod identity;
pub mod pool;
pub mod runtime;
pub mod server;
pub mod settings;
pub mod splice;
pub mod stats;
pub mod tls;
pub mod track;

#[cfg(test)]
mod tests;
