//! The three built-in probes (spec 08 §2): `tcp` and `http` from the CLI host, `ssh` through
//! the session's transport. A probe returns `Err(cause)` with the spec's wording
//! (`tcp <ip>:<port>: <cause>`, `http <url>: status <got> want <want>`, `ssh <ip>: …`).

use super::config::Probe;
use crate::session::Session;
use maand_transport::{quote, RemoteCommand, Target, TransportError};
use std::collections::BTreeMap;
use std::time::Duration;

/// Most probes of one job running at once (decision, spec 08 §2).
pub const MAX_PARALLEL_PROBES: usize = 16;

/// Everything a probe needs besides the probe itself.
pub struct ProbeContext<'a> {
    pub session: &'a Session,
    pub job: &'a str,
    /// Port name → assigned number, from the catalog.
    pub ports: &'a BTreeMap<String, u16>,
    pub timeout: Duration,
    pub use_sudo: bool,
}

/// Runs probe `index` of the job against `ip`.
pub fn run(cx: &ProbeContext, index: usize, probe: &Probe, ip: &str) -> Result<(), String> {
    match probe.kind.trim().to_ascii_lowercase().as_str() {
        "tcp" => {
            let port = port_of(cx, probe)?;
            tcp(ip, port, cx.timeout)
        }
        "http" => {
            let port = port_of(cx, probe)?;
            let scheme = probe
                .scheme
                .as_deref()
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .unwrap_or("http")
                .to_ascii_lowercase();
            let path = probe
                .path
                .as_deref()
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .unwrap_or("/");
            let want = probe.expect_status.filter(|s| *s != 0).unwrap_or(200);
            http(&url(&scheme, ip, port, path), want, cx.timeout)
        }
        "ssh" => ssh(cx, ip, probe.command.as_deref().unwrap_or("")),
        other => Err(format!(
            "health_check.checks[{index}]: unsupported type \"{other}\""
        )),
    }
}

fn port_of(cx: &ProbeContext, probe: &Probe) -> Result<u16, String> {
    let name = probe.port.as_deref().unwrap_or("").trim();
    cx.ports
        .get(name)
        .copied()
        .ok_or_else(|| format!("invalid manifest.json: job {} port \"{name}\"", cx.job))
}

/// `<scheme>://<ip>:<port><path>`, with brackets around IPv6 literals.
pub fn url(scheme: &str, ip: &str, port: u16, path: &str) -> String {
    if ip.contains(':') {
        format!("{scheme}://[{ip}]:{port}{path}")
    } else {
        format!("{scheme}://{ip}:{port}{path}")
    }
}

/// Passes when a TCP connection to `ip:port` opens within `timeout`.
pub fn tcp(ip: &str, port: u16, timeout: Duration) -> Result<(), String> {
    maand_transport::tcp_dial(ip, port, timeout)
        .map(|_| ())
        .map_err(|e| format!("tcp {ip}:{port}: {}", dial_cause(e)))
}

/// The cause of a failed dial without the `host:port: ` prefix.
pub fn dial_cause(e: TransportError) -> String {
    match e {
        TransportError::Dial { message, .. } => message,
        other => other.to_string(),
    }
}

/// Passes when `GET url` answers exactly `want` within `timeout` (whole request), after at
/// most 10 redirects. The body is not read; https certificates are not verified (a probe
/// checks liveness, not identity). No proxy is ever used.
pub fn http(url: &str, want: u16, timeout: Duration) -> Result<(), String> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(timeout))
        .max_redirects(10)
        .http_status_as_error(false)
        .proxy(None)
        .user_agent("maand-health-check")
        .tls_config(
            ureq::tls::TlsConfig::builder()
                .disable_verification(true)
                .build(),
        )
        .build()
        .into();
    match agent.get(url).call() {
        Ok(resp) => {
            let got = resp.status().as_u16();
            if got == want {
                Ok(())
            } else {
                Err(format!("http {url}: status {got} want {want}"))
            }
        }
        Err(e) => Err(format!("http {url}: {}", http_cause(&e))),
    }
}

fn http_cause(e: &ureq::Error) -> String {
    match e {
        ureq::Error::Timeout(_) => "timed out".to_string(),
        ureq::Error::TooManyRedirects => "too many redirects (more than 10)".to_string(),
        ureq::Error::Io(io) => io.to_string(),
        other => other.to_string(),
    }
}

/// The script an ssh probe runs on the worker: the command under `bash -lc` (starting in
/// the login directory), wrapped in `sudo -E` with `use_sudo`, bounded by `timeout`.
pub fn ssh_script(command: &str, timeout_secs: u64, use_sudo: bool) -> String {
    format!(
        "timeout -k 2 {timeout_secs} {}bash -lc {}",
        if use_sudo { "sudo -E " } else { "" },
        quote(command)
    )
}

/// Passes when `command` exits 0 on the worker within the timeout.
pub fn ssh(cx: &ProbeContext, ip: &str, command: &str) -> Result<(), String> {
    if command.trim().is_empty() {
        return Err(format!("ssh {ip}: empty command"));
    }
    let secs = cx.timeout.as_secs().max(1);
    let transport = &cx.session.transport;
    // Killed locally too: the probe's budget plus one connect and a small margin.
    let deadline = cx.timeout + transport.settings().connect_timeout + Duration::from_secs(3);
    let cmd = RemoteCommand::new(ssh_script(command, secs, cx.use_sudo)).deadline(deadline);
    let target = Target::worker(ip, "health_check", "ssh").with_job(cx.job);
    match transport.run(&target, &cmd) {
        Ok(out) if out.exit == 0 => Ok(()),
        Ok(out) if out.exit == 124 => Err(format!("ssh {ip}: timed out after {secs}s")),
        Ok(out) => {
            let tail = out.stderr_tail(1).join("");
            let tail = tail.trim();
            Err(if tail.is_empty() {
                format!("ssh {ip}: command failed (exit {})", out.exit)
            } else {
                format!("ssh {ip}: command failed (exit {}): {tail}", out.exit)
            })
        }
        Err(e) => {
            let s = e.to_string();
            let cause = s.strip_prefix(&format!("worker {ip}: ")).unwrap_or(&s);
            Err(format!("ssh {ip}: {cause}"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::net::TcpListener;

    #[test]
    fn urls_and_scripts() {
        assert_eq!(url("http", "127.0.0.1", 80, "/x"), "http://127.0.0.1:80/x");
        assert_eq!(url("https", "::1", 443, "/"), "https://[::1]:443/");
        assert_eq!(
            ssh_script("systemctl is-active x", 5, true),
            "timeout -k 2 5 sudo -E bash -lc 'systemctl is-active x'"
        );
        assert_eq!(ssh_script("true", 3, false), "timeout -k 2 3 bash -lc true");
    }

    #[test]
    fn tcp_probe() {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        assert!(tcp("127.0.0.1", port, Duration::from_secs(1)).is_ok());
        drop(l);
        let e = tcp("127.0.0.1", port, Duration::from_secs(1)).unwrap_err();
        assert!(
            e.starts_with(&format!("tcp 127.0.0.1:{port}: ")) && e.contains("refused"),
            "{e}"
        );
    }

    /// Serves `responses` in order, one per connection.
    fn serve(responses: Vec<String>) -> u16 {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        std::thread::spawn(move || {
            for r in responses {
                let Ok((mut s, _)) = l.accept() else { return };
                let mut buf = [0u8; 4096];
                let _ = s.read(&mut buf);
                let _ = s.write_all(r.as_bytes());
            }
        });
        port
    }

    fn resp(status: &str, extra: &str) -> String {
        format!("HTTP/1.1 {status}\r\nContent-Length: 2\r\nConnection: close\r\n{extra}\r\nok")
    }

    #[test]
    fn http_probe_status_and_redirects() {
        let t = Duration::from_secs(3);
        let port = serve(vec![resp("200 OK", "")]);
        http(&format!("http://127.0.0.1:{port}/"), 200, t).unwrap();

        let port = serve(vec![resp("503 Service Unavailable", "")]);
        let u = format!("http://127.0.0.1:{port}/h");
        assert_eq!(
            http(&u, 200, t).unwrap_err(),
            format!("http {u}: status 503 want 200")
        );

        let port = serve(vec![
            resp("302 Found", "Location: /b\r\n"),
            resp("204 No Content", ""),
        ]);
        http(&format!("http://127.0.0.1:{port}/a"), 204, t).unwrap();

        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        drop(l);
        let u = format!("http://127.0.0.1:{port}/");
        assert!(http(&u, 200, t)
            .unwrap_err()
            .starts_with(&format!("http {u}: ")));
    }

    /// https against a self-signed `openssl s_server`: the certificate is not verified.
    #[test]
    fn https_probe_skips_certificate_verification() {
        if maand_transport::find_on_path("openssl").is_none() {
            maand_fleet::skip(
                "https_probe_skips_certificate_verification",
                "openssl is not on PATH",
            );
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let (cert, key) = (dir.path().join("c.pem"), dir.path().join("k.pem"));
        let ok = std::process::Command::new("openssl")
            .args([
                "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
            ])
            .args(["-subj", "/CN=not-this-host", "-keyout"])
            .arg(&key)
            .arg("-out")
            .arg(&cert)
            .stderr(std::process::Stdio::null())
            .status()
            .unwrap();
        assert!(ok.success());
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut server = std::process::Command::new("openssl")
            .args(["s_server", "-quiet", "-www", "-accept"])
            .arg(format!("127.0.0.1:{port}"))
            .arg("-cert")
            .arg(&cert)
            .arg("-key")
            .arg(&key)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let start = std::time::Instant::now();
        while tcp("127.0.0.1", port, Duration::from_millis(200)).is_err()
            && start.elapsed() < Duration::from_secs(10)
        {
            std::thread::sleep(Duration::from_millis(50));
        }
        let result = http(
            &format!("https://127.0.0.1:{port}/"),
            200,
            Duration::from_secs(5),
        );
        let _ = server.kill();
        let _ = server.wait();
        result.unwrap();
    }
}
