//! The HTTP/1.1 framing and timeouts of the runtime API server (spec 07 §7.1), against a
//! small handler: `/echo` answers method, target and body; `/skip` leaves the body
//! unread; `/wait` holds the request until its client goes away and reports that.

use super::*;
use std::sync::mpsc;

struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// A server with `timeouts`; `/wait` sends whether its client was gone at first, then
/// once it noticed it went away.
fn start(timeouts: Timeouts) -> (u16, mpsc::Receiver<bool>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let (tx, rx) = mpsc::channel();
    let tx = std::sync::Mutex::new(tx);
    let handler = move |rq: &mut Request| -> Response {
        match rq.target() {
            "/skip" => Response::new(200, b"skipped".to_vec()),
            "/wait" => {
                let tx = tx.lock().unwrap().clone();
                let _ = tx.send(rq.peer().is_gone());
                let t = Instant::now();
                while !rq.peer().is_gone() && t.elapsed() < Duration::from_secs(10) {
                    std::thread::sleep(Duration::from_millis(20));
                }
                let _ = tx.send(rq.peer().is_gone());
                Response::new(200, Vec::new())
            }
            _ => {
                let mut body = String::new();
                if rq.body().read_to_string(&mut body).is_err() {
                    return Response::new(400, b"short body".to_vec());
                }
                let text = format!("{} {} {body}", rq.method(), rq.target());
                Response::new(200, text.into_bytes()).with_header("X-Test", "yes")
            }
        }
    };
    spawn(listener, timeouts, Arc::new(handler)).unwrap();
    (port, rx)
}

fn connect(port: u16) -> TcpStream {
    let s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    s
}

/// One response, or `None` when the server closed the connection before sending any.
fn read_reply(s: &mut TcpStream) -> Option<Reply> {
    read_response(s, false)
}

/// One response; `head_only` for the answer to a HEAD request (no body follows).
fn read_response(s: &mut TcpStream, head_only: bool) -> Option<Reply> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        match s.read(&mut byte) {
            Ok(1) => head.push(byte[0]),
            _ if head.is_empty() => return None,
            other => panic!("cut response {other:?}: {}", String::from_utf8_lossy(&head)),
        }
    }
    let head = String::from_utf8(head).unwrap();
    let mut lines = head.lines();
    let status = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    let mut reply = Reply {
        status,
        headers,
        body: String::new(),
    };
    let len: usize = reply.header("Content-Length").unwrap().parse().unwrap();
    let mut body = vec![0u8; if head_only { 0 } else { len }];
    s.read_exact(&mut body).unwrap();
    reply.body = String::from_utf8(body).unwrap();
    Some(reply)
}

/// Whether the server closed `s` within `within`, with nothing more to read. A reset
/// counts: the server closes without reading what a too-slow client sent late.
fn closed_within(s: &mut TcpStream, within: Duration) -> bool {
    s.set_read_timeout(Some(within)).unwrap();
    let mut rest = Vec::new();
    match s.read_to_end(&mut rest) {
        Ok(_) => rest.is_empty(),
        Err(e) => e.kind() == io::ErrorKind::ConnectionReset && rest.is_empty(),
    }
}

#[test]
fn keeps_alive_and_honours_connection_close() {
    let (port, _) = start(Timeouts::default());
    let mut s = connect(port);
    // Two requests in one write: answered in order on the same connection.
    s.write_all(
        b"PUT /echo?a=1 HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhelloGET /echo HTTP/1.1\r\n\r\n",
    )
    .unwrap();
    let r = read_reply(&mut s).unwrap();
    assert_eq!((r.status, r.body.as_str()), (200, "PUT /echo?a=1 hello"));
    assert_eq!(r.header("X-Test"), Some("yes"));
    assert_eq!(r.header("Connection"), None);
    assert_eq!(read_reply(&mut s).unwrap().body, "GET /echo ");
    // HEAD: the length of the answer, without its body.
    s.write_all(b"HEAD /echo HTTP/1.1\r\n\r\nGET /echo HTTP/1.1\r\n\r\n")
        .unwrap();
    let r = read_response(&mut s, true).unwrap();
    assert_eq!(r.header("Content-Length"), Some("11"));
    assert_eq!(read_reply(&mut s).unwrap().body, "GET /echo ");
    s.write_all(b"GET /echo HTTP/1.1\r\nConnection: close\r\n\r\n")
        .unwrap();
    let r = read_reply(&mut s).unwrap();
    assert_eq!(r.header("Connection"), Some("close"));
    assert!(closed_within(&mut s, Duration::from_secs(5)));
    // HTTP/1.0 closes unless asked to keep the connection.
    let mut s = connect(port);
    s.write_all(b"GET /echo HTTP/1.0\r\n\r\n").unwrap();
    assert_eq!(
        read_reply(&mut s).unwrap().header("Connection"),
        Some("close")
    );
    assert!(closed_within(&mut s, Duration::from_secs(5)));
}

#[test]
fn framing_errors_are_refused_and_close() {
    let (port, _) = start(Timeouts::default());
    let big = format!(
        "GET /echo HTTP/1.1\r\nX-Big: {}\r\n\r\n",
        "x".repeat(70_000)
    );
    for (request, status) in [
        (
            "POST /echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
            411,
        ),
        ("GET /echo HTTP/1.1\r\nContent-Length: x\r\n\r\n", 400),
        (
            "GET /echo HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
            400,
        ),
        ("GET /echo HTTP/1.1\r\n folded\r\n\r\n", 400),
        ("GET /echo\r\n\r\n", 400),
        ("GET /echo HTTP/2.0\r\n\r\n", 505),
        (big.as_str(), 431),
    ] {
        let mut s = connect(port);
        s.write_all(request.as_bytes()).unwrap();
        let r = read_reply(&mut s).unwrap();
        assert_eq!(r.status, status, "{request:.60}");
        assert_eq!(r.header("Connection"), Some("close"));
        assert!(
            closed_within(&mut s, Duration::from_secs(5)),
            "{request:.60}"
        );
    }
    // A body the handler left unread: answered, then the connection closes.
    let mut s = connect(port);
    let body = vec![b'x'; 2 * 1024 * 1024];
    s.write_all(
        format!(
            "PUT /skip HTTP/1.1\r\nContent-Length: {}\r\n\r\n",
            body.len()
        )
        .as_bytes(),
    )
    .unwrap();
    s.write_all(&body).unwrap();
    let r = read_reply(&mut s).unwrap();
    assert_eq!((r.status, r.body.as_str()), (200, "skipped"));
    assert_eq!(r.header("Connection"), Some("close"));
    assert!(closed_within(&mut s, Duration::from_secs(5)));
}

#[test]
fn a_slow_request_is_dropped_after_the_read_timeout() {
    let timeouts = Timeouts {
        request: Duration::from_millis(300),
        idle: Duration::from_secs(30),
    };
    let (port, _) = start(timeouts);
    // Nothing sent at all: closed without an answer.
    let mut s = connect(port);
    let t = Instant::now();
    assert!(read_reply(&mut s).is_none());
    assert!(t.elapsed() < Duration::from_secs(5));
    // Headers that never complete: 408, then closed.
    let mut s = connect(port);
    s.write_all(b"GET /echo HTTP/1.1\r\nHost: x\r\n").unwrap();
    let t = Instant::now();
    assert_eq!(read_reply(&mut s).unwrap().status, 408);
    assert!(closed_within(&mut s, Duration::from_secs(5)));
    assert!(t.elapsed() < Duration::from_secs(5));
    // Headers trickled a byte every 50 ms: each read is quick, the request is not.
    let mut s = connect(port);
    let mut w = s.try_clone().unwrap();
    let trickle = std::thread::spawn(move || {
        let t = Instant::now();
        w.write_all(b"GET /echo HTTP/1.1\r\nX-Slow: ").unwrap();
        while t.elapsed() < Duration::from_secs(10) && w.write_all(b"x").is_ok() {
            std::thread::sleep(Duration::from_millis(50));
        }
        t.elapsed()
    });
    assert_eq!(read_reply(&mut s).unwrap().status, 408);
    assert!(closed_within(&mut s, Duration::from_secs(5)));
    drop(s);
    assert!(trickle.join().unwrap() < Duration::from_secs(10));
    // A body shorter than declared: the handler's read fails at the deadline.
    let mut s = connect(port);
    s.write_all(b"PUT /echo HTTP/1.1\r\nContent-Length: 10\r\n\r\nabc")
        .unwrap();
    let r = read_reply(&mut s).unwrap();
    assert_eq!((r.status, r.header("Connection")), (400, Some("close")));
    assert!(closed_within(&mut s, Duration::from_secs(5)));
}

#[test]
fn an_idle_keep_alive_connection_is_closed() {
    let timeouts = Timeouts {
        request: Duration::from_secs(30),
        idle: Duration::from_millis(500),
    };
    let (port, _) = start(timeouts);
    let mut s = connect(port);
    for _ in 0..2 {
        s.write_all(b"GET /echo HTTP/1.1\r\n\r\n").unwrap();
        assert_eq!(read_reply(&mut s).unwrap().status, 200);
        std::thread::sleep(Duration::from_millis(100));
    }
    let t = Instant::now();
    assert!(closed_within(&mut s, Duration::from_secs(10)));
    assert!(
        t.elapsed() >= Duration::from_millis(300),
        "{:?}",
        t.elapsed()
    );
    assert!(t.elapsed() < Duration::from_secs(10));
}

#[test]
fn a_handler_notices_its_client_went_away() {
    let (port, gone) = start(Timeouts::default());
    let mut s = connect(port);
    s.write_all(b"GET /wait HTTP/1.1\r\n\r\n").unwrap();
    assert!(!gone.recv_timeout(Duration::from_secs(10)).unwrap());
    drop(s);
    assert!(gone.recv_timeout(Duration::from_secs(10)).unwrap());
}
