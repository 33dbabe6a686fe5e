//! Ambit's native addon (DESIGN §2, §8): the network-namespace and socket calls Node lacks, and the HBONE byte
//! path. This file is the JavaScript surface of the former (`netns` and `socket` do the work; descriptors
//! cross as plain numbers and Node owns them from then on); `hbone_api` is the surface of the latter (`hbone`
//! does the work). `index.ts` is the typed wrapper every caller uses.
mod error;
mod hbone;
pub mod hbone_api;
mod netns;
mod socket;

use std::os::fd::{IntoRawFd, RawFd};
use std::time::Duration;

use napi::bindgen_prelude::AsyncTask;
use napi::{Env, Task};
use napi_derive::napi;

use socket::{addr, connect, listener, original_dst};

#[napi(object)]
pub struct ListenerOptions {
    pub netns_path: Option<String>,
    pub host: String,
    pub port: u32,
    pub transparent: Option<bool>,
    pub backlog: Option<i32>,
}

/// A listening TCP socket in the given netns, as a descriptor for `server.listen({ fd })`.
#[napi]
pub fn open_listener(options: ListenerOptions) -> napi::Result<i32> {
    Ok(listener::open(&listen_request(&options)?)?.into_raw_fd())
}

/// Listener options as the socket module takes them; shared with the native HBONE listeners.
fn listen_request(options: &ListenerOptions) -> napi::Result<listener::Listen> {
    Ok(listener::Listen {
        addr: addr::endpoint(&options.host, options.port)?,
        netns: options.netns_path.clone(),
        transparent: options.transparent.unwrap_or(false),
        backlog: options.backlog.unwrap_or(listener::DEFAULT_BACKLOG),
    })
}

#[napi(object)]
pub struct ConnectOptions {
    pub netns_path: Option<String>,
    pub host: String,
    pub port: u32,
    pub mark: Option<u32>,
    pub transparent_source: Option<String>,
    pub timeout_ms: Option<u32>,
}

/// The blocking part of `connect`, run on libuv's pool so the event loop keeps turning. A connect holds a
/// pool thread until it settles (at most `timeoutMs`); the later native byte path brings its own event loop.
pub struct ConnectTask(connect::Connect);

impl Task for ConnectTask {
    type Output = RawFd;
    type JsValue = i32;

    fn compute(&mut self) -> napi::Result<RawFd> {
        Ok(connect::connect(&self.0)?.into_raw_fd())
    }

    fn resolve(&mut self, _env: Env, fd: RawFd) -> napi::Result<i32> {
        Ok(fd)
    }
}

/// A connected TCP socket made in the given netns, as a descriptor for `new net.Socket({ fd })`. Bad
/// options throw at once; connection failures reject.
#[napi(ts_return_type = "Promise<number>")]
pub fn connect(options: ConnectOptions) -> napi::Result<AsyncTask<ConnectTask>> {
    let request = connect::Connect {
        addr: addr::endpoint(&options.host, options.port)?,
        netns: options.netns_path,
        mark: options.mark,
        transparent_source: options
            .transparent_source
            .as_deref()
            .map(addr::ipv4)
            .transpose()?,
        source: None,
        timeout: options
            .timeout_ms
            .map_or(connect::DEFAULT_TIMEOUT, |ms| Duration::from_millis(ms.into())),
    };
    Ok(AsyncTask::new(ConnectTask(request)))
}

#[napi(object)]
pub struct Endpoint {
    pub host: String,
    pub port: u32,
}

/// The destination an accepted socket had before an iptables REDIRECT.
#[napi]
pub fn original_destination(fd: i32) -> napi::Result<Endpoint> {
    let original = original_dst::original_destination(fd)?;
    Ok(Endpoint {
        host: original.ip().to_string(),
        port: original.port().into(),
    })
}
