//! The remote-write client (spec 10 §8.4). Its retry policy is part of the contract, so
//! it lives here next to the body it sends rather than in the deploy code.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use std::io::Read;
use std::thread::sleep;
use std::time::Duration;

/// How hard to try: a Prometheus that is itself being restarted by the deploy that
/// triggers the push usually comes back within the default ~30 s of back-off.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Retry {
    /// Total tries, including the first.
    pub attempts: u32,
    /// Wait after the first failure; doubled after each further one.
    pub first_delay: Duration,
    pub max_delay: Duration,
    /// Whole-request limit per attempt, so a hung server cannot stall the deploy.
    pub timeout: Duration,
}

impl Default for Retry {
    fn default() -> Self {
        Retry {
            attempts: 5,
            first_delay: Duration::from_secs(2),
            max_delay: Duration::from_secs(15),
            timeout: Duration::from_secs(15),
        }
    }
}

/// Only the response body's start is kept: enough for Prometheus' one-line reason
/// without letting a misbehaving endpoint flood the deploy output.
const BODY_LIMIT: u64 = 4096;

/// Sends the body with retries on what may heal by itself (network errors, 429, 5xx) and
/// fails at once on what will not. The push is best-effort, so the caller only reports
/// the outcome; `progress` lets it show each retry as it happens.
pub fn push(
    url: &str,
    auth: Option<(&str, &str)>,
    body: &[u8],
    retry: &Retry,
    progress: &mut dyn FnMut(&str),
) -> Result<u32, String> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(retry.timeout))
        .build()
        .into();
    let attempts = retry.attempts.max(1);
    let mut delay = retry.first_delay;
    let mut attempt = 1;
    loop {
        match send(&agent, url, auth, body) {
            Ok(()) => {
                if attempt > 1 {
                    progress(&format!(
                        "cert metrics: push succeeded on attempt {attempt}/{attempts}"
                    ));
                }
                return Ok(attempt);
            }
            Err(Failure {
                text,
                retryable: false,
            }) => return Err(text),
            Err(Failure { text, .. }) if attempt >= attempts => {
                return Err(format!("{text} (gave up after {attempts} attempts)"));
            }
            Err(Failure { text, .. }) => {
                progress(&format!(
                    "cert metrics: attempt {attempt}/{attempts} failed: {text}; retrying in {delay:?}"
                ));
                sleep(delay);
                delay = (delay * 2).min(retry.max_delay);
                attempt += 1;
            }
        }
    }
}

struct Failure {
    text: String,
    retryable: bool,
}

fn send(
    agent: &ureq::Agent,
    url: &str,
    auth: Option<(&str, &str)>,
    body: &[u8],
) -> Result<(), Failure> {
    let mut request = agent
        .post(url)
        .header("Content-Type", "application/x-protobuf")
        .header("Content-Encoding", "snappy")
        .header("X-Prometheus-Remote-Write-Version", "0.1.0");
    if let Some((user, password)) = auth {
        request = request.header(
            "Authorization",
            format!("Basic {}", STANDARD.encode(format!("{user}:{password}"))),
        );
    }
    let mut response = request.send(body).map_err(|e| Failure {
        retryable: matches!(
            e,
            ureq::Error::Io(_)
                | ureq::Error::Timeout(_)
                | ureq::Error::HostNotFound
                | ureq::Error::ConnectionFailed
                | ureq::Error::Protocol(_)
        ),
        text: format!("POST {url}: {e}"),
    })?;
    let status = response.status();
    if status.is_success() {
        return Ok(());
    }
    let mut reply = Vec::new();
    // A body that breaks off mid-read still leaves the status to report.
    let _ = response
        .body_mut()
        .as_reader()
        .take(BODY_LIMIT + 1)
        .read_to_end(&mut reply);
    let truncated = reply.len() as u64 > BODY_LIMIT;
    reply.truncate(BODY_LIMIT as usize);
    let reply = String::from_utf8_lossy(&reply);
    let mut text = format!("POST {url}: HTTP {status}");
    if !reply.trim().is_empty() {
        text = format!(
            "{text}: {}{}",
            reply.trim_end(),
            if truncated { " [truncated]" } else { "" }
        );
    }
    Err(Failure {
        text,
        retryable: status.as_u16() == 429 || status.is_server_error(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::remote_write::{encode, Series};
    use std::thread::JoinHandle;

    fn fast() -> Retry {
        Retry {
            attempts: 5,
            first_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(3),
            timeout: Duration::from_secs(10),
        }
    }

    struct Seen {
        method: String,
        path: String,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
    }

    impl Seen {
        fn header(&self, name: &str) -> Option<&str> {
            self.headers
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.as_str())
        }
    }

    /// A loopback server answering with `replies` in order, one request each.
    fn serve(replies: Vec<(u16, Vec<u8>)>) -> (String, JoinHandle<Vec<Seen>>) {
        let server = tiny_http::Server::http("127.0.0.1:0").unwrap();
        let port = server.server_addr().to_ip().unwrap().port();
        let handle = std::thread::spawn(move || {
            let mut seen = Vec::new();
            for (status, reply) in replies {
                let mut request = server.recv().unwrap();
                let mut body = Vec::new();
                request.as_reader().read_to_end(&mut body).unwrap();
                seen.push(Seen {
                    method: request.method().to_string(),
                    path: request.url().to_string(),
                    headers: request
                        .headers()
                        .iter()
                        .map(|h| (h.field.to_string(), h.value.to_string()))
                        .collect(),
                    body,
                });
                request
                    .respond(tiny_http::Response::from_data(reply).with_status_code(status))
                    .unwrap();
            }
            seen
        });
        (format!("http://127.0.0.1:{port}/api/v1/write"), handle)
    }

    fn run(
        url: &str,
        auth: Option<(&str, &str)>,
        body: &[u8],
    ) -> (Result<u32, String>, Vec<String>) {
        let mut messages = Vec::new();
        let result = push(url, auth, body, &fast(), &mut |m: &str| {
            messages.push(m.to_string())
        });
        (result, messages)
    }

    #[test]
    fn default_policy_matches_spec() {
        let retry = Retry::default();
        assert_eq!(
            (retry.attempts, retry.first_delay, retry.max_delay),
            (5, Duration::from_secs(2), Duration::from_secs(15))
        );
        assert_eq!(retry.timeout, Duration::from_secs(15));
    }

    #[test]
    fn first_try_success_sends_headers_auth_and_body() {
        let series = [Series {
            labels: vec![("a".into(), "b".into())],
            value: 1.0,
            timestamp_ms: 2,
        }];
        let body = encode(&series);
        let (url, server) = serve(vec![(204, Vec::new())]);
        let (result, messages) = run(&url, Some(("admin", "s3cret:x")), &body);
        assert_eq!(result, Ok(1));
        assert!(messages.is_empty(), "{messages:?}");
        let seen = server.join().unwrap();
        let request = &seen[0];
        assert_eq!(
            (request.method.as_str(), request.path.as_str()),
            ("POST", "/api/v1/write")
        );
        assert_eq!(
            request.header("Content-Type"),
            Some("application/x-protobuf")
        );
        assert_eq!(request.header("Content-Encoding"), Some("snappy"));
        assert_eq!(
            request.header("X-Prometheus-Remote-Write-Version"),
            Some("0.1.0")
        );
        assert_eq!(
            request.header("Authorization"),
            Some("Basic YWRtaW46czNjcmV0Ong=")
        );
        assert_eq!(request.body, body);
        let raw = snap::raw::Decoder::new()
            .decompress_vec(&request.body)
            .unwrap();
        #[rustfmt::skip]
        let want = [0x0a, 21, 0x0a, 6, 0x0a, 1, b'a', 0x12, 1, b'b', 0x12, 11, 0x09, 0, 0, 0, 0, 0, 0, 0xf0, 0x3f, 0x10, 2];
        assert_eq!(raw, want);
    }

    #[test]
    fn no_auth_sends_no_authorization() {
        let (url, server) = serve(vec![(200, Vec::new())]);
        assert_eq!(run(&url, None, b"x").0, Ok(1));
        assert_eq!(server.join().unwrap()[0].header("Authorization"), None);
    }

    #[test]
    fn server_error_then_success_retries() {
        let (url, server) = serve(vec![(503, b"starting up".to_vec()), (200, Vec::new())]);
        let (result, messages) = run(&url, None, b"x");
        assert_eq!(result, Ok(2));
        assert_eq!(
            messages,
            [
                format!("cert metrics: attempt 1/5 failed: POST {url}: HTTP 503 Service Unavailable: starting up; retrying in 1ms"),
                "cert metrics: push succeeded on attempt 2/5".to_string(),
            ]
        );
        assert_eq!(server.join().unwrap().len(), 2);
    }

    #[test]
    fn too_many_requests_is_retried() {
        let (url, server) = serve(vec![(429, Vec::new()), (200, Vec::new())]);
        assert_eq!(run(&url, None, b"x").0, Ok(2));
        server.join().unwrap();
    }

    #[test]
    fn client_error_fails_at_once_with_status_and_body() {
        let (url, server) = serve(vec![(400, b"out of order sample\n".to_vec())]);
        let (result, messages) = run(&url, None, b"x");
        assert_eq!(
            result,
            Err(format!(
                "POST {url}: HTTP 400 Bad Request: out of order sample"
            ))
        );
        assert!(messages.is_empty(), "{messages:?}");
        assert_eq!(server.join().unwrap().len(), 1);
    }

    #[test]
    fn response_body_is_capped_at_4_kib() {
        let (url, server) = serve(vec![(400, vec![b'a'; 10_000])]);
        let error = run(&url, None, b"x").0.unwrap_err();
        let prefix = format!("POST {url}: HTTP 400 Bad Request: ");
        assert_eq!(error, format!("{prefix}{} [truncated]", "a".repeat(4096)));
        server.join().unwrap();
    }

    #[test]
    fn refused_connection_retries_with_capped_doubling_then_fails() {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let url = format!("http://127.0.0.1:{port}/api/v1/write");
        let (result, messages) = run(&url, None, b"x");
        let error = result.unwrap_err();
        assert!(error.starts_with(&format!("POST {url}: ")), "{error}");
        assert!(error.ends_with(" (gave up after 5 attempts)"), "{error}");
        let delays: Vec<&str> = messages
            .iter()
            .map(|m| m.rsplit("retrying in ").next().unwrap())
            .collect();
        assert_eq!(delays, ["1ms", "2ms", "3ms", "3ms"]);
        assert!(
            messages[0].starts_with("cert metrics: attempt 1/5 failed: POST "),
            "{}",
            messages[0]
        );
    }
}
