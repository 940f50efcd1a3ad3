//! The runtime API's HTTP/1.1 server on `std::net` (spec 07 §7.1).
//!
//! Why not a crate: tiny_http (used before) accepts the sockets itself and sets no
//! timeouts on them, so a client sending half a request, or keeping an idle connection
//! open, held a thread forever; and a handler could not tell that its client had gone,
//! which a semaphore waiter must (§7.10). Owning the socket makes all three short.
//!
//! Scope: one thread per connection, serving its requests in order (keep-alive unless
//! `Connection: close` or HTTP/1.0); `Content-Length` bodies only (`Transfer-Encoding` →
//! 411). The handler reads the body itself, so it can refuse one by its declared size
//! before reading it; a connection whose body was left unread is closed after the answer.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Largest request line plus headers.
const MAX_HEAD: u64 = 64 * 1024;

/// How long the server waits for a client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// To receive a whole request (line, headers, body), counted from its first byte, or
    /// from the accept for the first request of a connection. Also bounds each write.
    pub request: Duration,
    /// Between requests on a kept-alive connection.
    pub idle: Duration,
}

impl Default for Timeouts {
    /// Spec 07 §7.1: 10 s to read a request, 30 s idle keep-alive.
    fn default() -> Timeouts {
        Timeouts {
            request: Duration::from_secs(10),
            idle: Duration::from_secs(30),
        }
    }
}

/// Answers one request.
pub type Handler = dyn Fn(&mut Request<'_>) -> Response + Send + Sync;

/// Serves `listener` on a background thread for the rest of the process.
pub fn spawn(listener: TcpListener, timeouts: Timeouts, handler: Arc<Handler>) -> io::Result<()> {
    std::thread::Builder::new()
        .name("maand-hooks-api".into())
        .spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else {
                    // Out of descriptors or the like: let open connections finish first.
                    std::thread::sleep(Duration::from_millis(50));
                    continue;
                };
                let handler = Arc::clone(&handler);
                let _ = std::thread::Builder::new()
                    .name("maand-hooks-conn".into())
                    .spawn(move || {
                        let _ = connection(stream, timeouts, &*handler);
                    });
            }
        })?;
    Ok(())
}

/// A request whose line and headers are read; the body is read through [`Request::body`].
pub struct Request<'a> {
    method: String,
    target: String,
    headers: Vec<(String, String)>,
    length: Option<u64>,
    body: Body<'a>,
    peer: &'a Peer,
}

impl<'a> Request<'a> {
    pub fn method(&self) -> &str {
        &self.method
    }

    /// The request target as sent: path and query string.
    pub fn target(&self) -> &str {
        &self.target
    }

    /// The first header named `name` (any case), trimmed.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The declared `Content-Length`.
    pub fn content_length(&self) -> Option<u64> {
        self.length
    }

    pub fn body(&mut self) -> &mut Body<'a> {
        &mut self.body
    }

    pub fn peer(&self) -> &Peer {
        self.peer
    }
}

/// The body of a request: `Content-Length` bytes, read on demand within the request's
/// deadline.
pub struct Body<'a> {
    conn: &'a mut BufReader<Timed>,
    left: u64,
    /// A read failed or hit the end early: the connection is out of step.
    broken: bool,
}

impl Body<'_> {
    /// Whether the next request can be read from the connection after this one.
    fn fully_read(&self) -> bool {
        self.left == 0 && !self.broken
    }
}

impl Read for Body<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.left == 0 || buf.is_empty() {
            return Ok(0);
        }
        let max = buf
            .len()
            .min(usize::try_from(self.left).unwrap_or(usize::MAX));
        match self.conn.read(&mut buf[..max]) {
            Ok(0) => {
                self.broken = true;
                Err(io::ErrorKind::UnexpectedEof.into())
            }
            Ok(n) => {
                self.left -= n as u64;
                Ok(n)
            }
            Err(e) => {
                self.broken = true;
                Err(e)
            }
        }
    }
}

/// The client end of a connection, so a handler that waits long (a semaphore acquire)
/// can notice that nobody is left to answer.
pub struct Peer(TcpStream);

impl Peer {
    /// True once the client has closed or reset the connection. A client that only
    /// half-closes (shuts down its sending side) counts as gone too.
    pub fn is_gone(&self) -> bool {
        if self.0.set_nonblocking(true).is_err() {
            return false;
        }
        let peeked = self.0.peek(&mut [0u8; 1]);
        let _ = self.0.set_nonblocking(false);
        match peeked {
            Ok(n) => n == 0,
            Err(e) => !matches!(
                e.kind(),
                io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted
            ),
        }
    }
}

/// An answer: status, headers and the whole body (`Content-Length` is added on write).
pub struct Response {
    status: u16,
    headers: Vec<(&'static str, String)>,
    body: Vec<u8>,
}

impl Response {
    pub fn new(status: u16, body: Vec<u8>) -> Response {
        Response {
            status,
            headers: Vec::new(),
            body,
        }
    }

    pub fn with_header(mut self, name: &'static str, value: &str) -> Response {
        self.headers.push((name, value.to_string()));
        self
    }

    /// The server's own refusal (bad framing, timeout): the reason phrase as text.
    fn refusal(status: u16) -> Response {
        Response::new(status, format!("{}\n", reason(status)).into_bytes())
            .with_header("Content-Type", "text/plain; charset=utf-8")
    }

    fn write_to(&self, out: &mut TcpStream, close: bool, head_only: bool) -> io::Result<()> {
        let mut msg = format!("HTTP/1.1 {} {}\r\n", self.status, reason(self.status));
        for (k, v) in &self.headers {
            msg.push_str(&format!("{k}: {v}\r\n"));
        }
        msg.push_str(&format!("Content-Length: {}\r\n", self.body.len()));
        if close {
            msg.push_str("Connection: close\r\n");
        }
        msg.push_str("\r\n");
        let mut bytes = msg.into_bytes();
        if !head_only {
            bytes.extend_from_slice(&self.body);
        }
        out.write_all(&bytes)?;
        out.flush()
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        401 => "Unauthorized",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        409 => "Conflict",
        411 => "Length Required",
        413 => "Content Too Large",
        415 => "Unsupported Media Type",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        505 => "HTTP Version Not Supported",
        _ => "Unknown",
    }
}

/// The client socket with a deadline on every read, so a client trickling bytes cannot
/// stretch a request past its timeout.
struct Timed {
    stream: TcpStream,
    deadline: Instant,
}

impl Read for Timed {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let left = self.deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(io::ErrorKind::TimedOut.into());
        }
        self.stream.set_read_timeout(Some(left))?;
        self.stream.read(buf).map_err(|e| match e.kind() {
            io::ErrorKind::WouldBlock => io::ErrorKind::TimedOut.into(),
            _ => e,
        })
    }
}

/// Request line and headers.
struct Head {
    method: String,
    target: String,
    headers: Vec<(String, String)>,
    length: Option<u64>,
    chunked: bool,
    keep_alive: bool,
}

/// Why no request could be read.
#[derive(Debug)]
enum HeadError {
    /// Nothing to answer: the client closed or went quiet before sending a byte, or the
    /// socket failed.
    Closed,
    /// Answer with this status, then close: unparsable, too large or too slow.
    Refuse(u16),
}

/// Serves the requests of one connection until it closes, times out or breaks.
fn connection(stream: TcpStream, t: Timeouts, handler: &Handler) -> io::Result<()> {
    stream.set_write_timeout(Some(t.request))?;
    let peer = Peer(stream.try_clone()?);
    let mut out = stream.try_clone()?;
    let mut conn = BufReader::new(Timed {
        stream,
        deadline: Instant::now() + t.request,
    });
    let mut first = true;
    loop {
        if !first {
            conn.get_mut().deadline = Instant::now() + t.idle;
            if conn.fill_buf().map_or(true, |b| b.is_empty()) {
                return Ok(());
            }
            conn.get_mut().deadline = Instant::now() + t.request;
        }
        first = false;
        let head = match read_head(&mut conn) {
            Ok(head) => head,
            Err(HeadError::Closed) => return Ok(()),
            Err(HeadError::Refuse(status)) => {
                Response::refusal(status).write_to(&mut out, true, false)?;
                return linger(&mut out, &mut conn);
            }
        };
        if head.chunked {
            Response::refusal(411).write_to(&mut out, true, false)?;
            return linger(&mut out, &mut conn);
        }
        let mut rq = Request {
            method: head.method,
            target: head.target,
            headers: head.headers,
            length: head.length,
            body: Body {
                conn: &mut conn,
                left: head.length.unwrap_or(0),
                broken: false,
            },
            peer: &peer,
        };
        let reply = handler(&mut rq);
        let in_step = rq.body.fully_read();
        let close = !head.keep_alive || !in_step;
        reply.write_to(&mut out, close, rq.method == "HEAD")?;
        if !in_step {
            return linger(&mut out, &mut conn);
        }
        if close {
            return Ok(());
        }
    }
}

/// Closes after an answer sent before the request was read to its end: the rest is
/// discarded (until the client closes or the request deadline passes) rather than left
/// unread, which would make the kernel reset the connection and could lose the answer.
fn linger(out: &mut TcpStream, conn: &mut BufReader<Timed>) -> io::Result<()> {
    out.shutdown(Shutdown::Write)?;
    let _ = io::copy(conn, &mut io::sink());
    Ok(())
}

fn read_head(conn: &mut BufReader<Timed>) -> Result<Head, HeadError> {
    let mut budget = MAX_HEAD;
    let mut line = Vec::new();
    let mut started = false;
    // RFC 9112 §2.2: empty lines before the request line are ignored.
    let request_line = loop {
        read_line(conn, &mut budget, &mut line, started)?;
        started = true;
        let text = std::str::from_utf8(&line).map_err(|_| HeadError::Refuse(400))?;
        let text = text.trim_end_matches(['\r', '\n']);
        if !text.is_empty() {
            break text.to_string();
        }
    };
    let mut parts = request_line.split(' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(HeadError::Refuse(400));
    };
    if method.is_empty() || target.is_empty() {
        return Err(HeadError::Refuse(400));
    }
    let mut keep_alive = match version {
        "HTTP/1.1" => true,
        "HTTP/1.0" => false,
        v if v.starts_with("HTTP/") => return Err(HeadError::Refuse(505)),
        _ => return Err(HeadError::Refuse(400)),
    };
    let mut headers = Vec::new();
    loop {
        read_line(conn, &mut budget, &mut line, true)?;
        let text = std::str::from_utf8(&line).map_err(|_| HeadError::Refuse(400))?;
        let text = text.trim_end_matches(['\r', '\n']);
        if text.is_empty() {
            break;
        }
        let (name, value) = text.split_once(':').ok_or(HeadError::Refuse(400))?;
        // A name with spaces, or a folded continuation line, is malformed (RFC 9112 §5).
        if name.is_empty() || name.bytes().any(|b| b.is_ascii_whitespace()) {
            return Err(HeadError::Refuse(400));
        }
        headers.push((
            name.to_string(),
            value.trim_matches([' ', '\t']).to_string(),
        ));
    }
    let mut length = None;
    let mut chunked = false;
    for (name, value) in &headers {
        if name.eq_ignore_ascii_case("Content-Length") {
            let n = (!value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()))
                .then(|| value.parse::<u64>().ok())
                .flatten()
                .ok_or(HeadError::Refuse(400))?;
            if length.is_some_and(|l| l != n) {
                return Err(HeadError::Refuse(400));
            }
            length = Some(n);
        } else if name.eq_ignore_ascii_case("Transfer-Encoding") {
            chunked = true;
        } else if name.eq_ignore_ascii_case("Connection") {
            for token in value.split(',').map(str::trim) {
                if token.eq_ignore_ascii_case("close") {
                    keep_alive = false;
                } else if token.eq_ignore_ascii_case("keep-alive") && version == "HTTP/1.0" {
                    keep_alive = true;
                }
            }
        }
    }
    Ok(Head {
        method: method.to_string(),
        target: target.to_string(),
        headers,
        length,
        chunked,
        keep_alive,
    })
}

/// Reads one line (with its `\n`) into `line`, spending `budget`. `started`: bytes of
/// this request were already read, so a timeout is answered (408) rather than silent.
fn read_line(
    conn: &mut BufReader<Timed>,
    budget: &mut u64,
    line: &mut Vec<u8>,
    started: bool,
) -> Result<(), HeadError> {
    line.clear();
    let read = conn.by_ref().take(*budget).read_until(b'\n', line);
    *budget -= line.len() as u64;
    match read {
        Ok(_) if line.ends_with(b"\n") => Ok(()),
        Ok(_) if *budget == 0 => Err(HeadError::Refuse(431)),
        Ok(_) => Err(HeadError::Closed),
        Err(e) if e.kind() == io::ErrorKind::TimedOut && (started || !line.is_empty()) => {
            Err(HeadError::Refuse(408))
        }
        Err(_) => Err(HeadError::Closed),
    }
}

#[cfg(test)]
#[path = "server_tests.rs"]
mod tests;
