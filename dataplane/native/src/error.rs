//! Failures of the addon, each with a stable code.
//!
//! They reach JavaScript as plain errors whose message starts with the code (`ERR_NATIVE_SETNS: …`), and the
//! TypeScript wrapper turns that prefix into `error.code`. Why a prefix: napi-rs fills `code` from its own
//! `Status` enum, and an async task can only reject with a `Status`, so the message is the one channel that
//! every export shares.
use std::fmt;

use nix::errno::Errno;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Code {
    Argument,
    Netns,
    Setns,
    Socket,
    Bind,
    Listen,
    Connect,
    ConnectRefused,
    ConnectTimeout,
    OriginalDst,
    Tls,
}

impl Code {
    pub fn as_str(self) -> &'static str {
        match self {
            Code::Argument => "ERR_NATIVE_ARGUMENT",
            Code::Netns => "ERR_NATIVE_NETNS",
            Code::Setns => "ERR_NATIVE_SETNS",
            Code::Socket => "ERR_NATIVE_SOCKET",
            Code::Bind => "ERR_NATIVE_BIND",
            Code::Listen => "ERR_NATIVE_LISTEN",
            Code::Connect => "ERR_NATIVE_CONNECT",
            Code::ConnectRefused => "ERR_NATIVE_CONNECT_REFUSED",
            Code::ConnectTimeout => "ERR_NATIVE_CONNECT_TIMEOUT",
            Code::OriginalDst => "ERR_NATIVE_ORIGINAL_DST",
            Code::Tls => "ERR_NATIVE_TLS",
        }
    }
}

#[derive(Debug)]
pub struct NativeError {
    code: Code,
    message: String,
}

impl NativeError {
    pub fn new(code: Code, message: impl Into<String>) -> Self {
        NativeError {
            code,
            message: message.into(),
        }
    }

    /// A failed system call: what we tried, then the errno name and text (`ECONNREFUSED: Connection refused`),
    /// so the caller can tell kernel answers apart without another field.
    pub fn errno(code: Code, context: impl fmt::Display, errno: Errno) -> Self {
        NativeError::new(code, format!("{context}: {errno}"))
    }

    #[cfg(test)]
    pub fn code(&self) -> Code {
        self.code
    }
}

impl fmt::Display for NativeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code.as_str(), self.message)
    }
}

impl From<NativeError> for napi::Error {
    fn from(error: NativeError) -> Self {
        napi::Error::new(napi::Status::GenericFailure, error.to_string())
    }
}

pub type Result<T> = std::result::Result<T, NativeError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_starts_with_the_code_the_wrapper_parses() {
        let error = NativeError::errno(Code::ConnectRefused, "connect 10.0.0.1:80", Errno::ECONNREFUSED);
        assert_eq!(
            error.to_string(),
            "ERR_NATIVE_CONNECT_REFUSED: connect 10.0.0.1:80: ECONNREFUSED: Connection refused"
        );
    }
}
