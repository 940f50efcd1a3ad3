//! A plain TCP dial, for the worker health gate (is sshd answering?).

use std::net::{TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

use crate::TransportError;

/// Open (and close) a TCP connection to `host:port` within `timeout`; returns how long the
/// connect took. Tries every resolved address.
pub fn tcp_dial(host: &str, port: u16, timeout: Duration) -> Result<Duration, TransportError> {
    let fail = |message: String| TransportError::Dial {
        host: host.to_string(),
        port,
        message,
    };
    let start = Instant::now();
    let addrs: Vec<_> = (host, port)
        .to_socket_addrs()
        .map_err(|e| fail(format!("cannot resolve: {e}")))?
        .collect();
    let mut last = String::from("no address");
    for addr in addrs {
        let left = timeout.saturating_sub(start.elapsed());
        if left.is_zero() {
            last = format!("connect timed out after {}ms", timeout.as_millis());
            break;
        }
        match TcpStream::connect_timeout(&addr, left) {
            Ok(_) => return Ok(start.elapsed()),
            Err(e) if e.kind() == std::io::ErrorKind::TimedOut => {
                last = format!("connect timed out after {}ms", timeout.as_millis());
            }
            Err(e) => last = e.to_string(),
        }
    }
    Err(fail(last))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    #[test]
    fn dials_open_and_closed_ports() {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        assert!(tcp_dial("127.0.0.1", port, Duration::from_secs(1)).is_ok());
        drop(l);
        let err = tcp_dial("127.0.0.1", port, Duration::from_secs(1)).unwrap_err();
        assert!(
            err.to_string().starts_with(&format!("127.0.0.1:{port}: ")),
            "{err}"
        );
    }
}
