//! The runtime HTTP API hooks call (spec 07 §7): one server per maand process on
//! `127.0.0.1:<ephemeral>`, bearer-token protected, serving KV, demands and semaphores to
//! the hooks registered as running in this process.

mod server;

pub use server::Timeouts;

use super::semaphore::{normalize_capacity, normalize_timeout, SemError, Semaphores};
use crate::kv::policy::Reader;
use crate::kv::KvStore;
use maand_logs::LogSink;
use serde_json::{json, Map, Value};
use server::{Peer, Request, Response};
use std::io::Read;
use std::net::TcpListener;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

/// Largest accepted request body.
pub const MAX_BODY: usize = 1024 * 1024;

/// Error bodies of spec 07 §7.11.
pub mod msg {
    pub const UNAUTHORIZED: &str = "missing or invalid API token";
    pub const NO_ALLOCATION: &str = "X-ALLOCATION-ID header is missing";
    pub const BAD_ALLOCATION: &str = "Invalid allocation ID";
    pub const MISMATCH: &str = "EVENT or COMMAND header does not match the running hook";
    pub const CONTENT_TYPE: &str = "Content-Type must be application/json";
    pub const TOO_LARGE: &str = "Request body too large";
    pub const NO_BODY: &str = "Failed to read request body";
    pub const BAD_JSON: &str = "Invalid JSON format";
    pub const MISSING: &str = "Both namespace and key are required";
    pub const NAMESPACE: &str = "Invalid or unauthorized namespace";
    pub const KV_MISSING: &str = "KV get operation failed";
    pub const HEALTH_WRITE: &str = "KV writes are not allowed during health_check";
    pub const SEM_TIMEOUT: &str = "Timed out waiting for semaphore";
    pub const SEM_CONFLICT: &str = "Semaphore acquire or release failed";
    pub const NOT_FOUND: &str = "not found";
    pub const INTERNAL: &str = "Internal server error";
}

/// A hook process in flight: what every rule of the API is decided from.
pub struct HookInfo {
    pub alloc_id: String,
    pub job: String,
    pub worker: String,
    pub event: String,
    pub command: String,
    /// Read/write policy of (job, worker) with the job's upstream jobs.
    pub reader: Reader,
    /// `GET /demands` answer for (job, command).
    pub demands: Value,
    /// The KV session of the command that runs the hook.
    pub kv: Arc<Mutex<KvStore>>,
    /// Run log: secrets written through the API are registered for redaction.
    pub sink: Option<Arc<LogSink>>,
}

/// Proof of a registration; give it back with [`Api::unregister`].
#[derive(Debug)]
pub struct Registration {
    id: u64,
    alloc_id: String,
    job: String,
    event: String,
}

struct State {
    token: String,
    hooks: Mutex<Vec<(u64, Arc<HookInfo>)>>,
    next_id: AtomicU64,
    sems: Semaphores,
}

/// The runtime API server.
pub struct Api {
    port: u16,
    state: Arc<State>,
}

static PROCESS_API: OnceLock<Result<Api, String>> = OnceLock::new();

impl Api {
    /// Starts a server on `127.0.0.1:0` with a fresh token; it serves until the process
    /// exits.
    pub fn start(timeouts: Timeouts) -> Result<Api, String> {
        let listener = TcpListener::bind("127.0.0.1:0")
            .map_err(|e| format!("cannot start the hooks runtime API on 127.0.0.1: {e}"))?;
        let port = listener
            .local_addr()
            .map_err(|e| format!("hooks runtime API: no TCP address: {e}"))?
            .port();
        let state = Arc::new(State {
            token: new_token(),
            hooks: Mutex::new(Vec::new()),
            next_id: AtomicU64::new(1),
            sems: Semaphores::default(),
        });
        let st = Arc::clone(&state);
        server::spawn(
            listener,
            timeouts,
            Arc::new(move |rq: &mut Request| handle(&st, rq)),
        )
        .map_err(|e| format!("cannot start the hooks runtime API: {e}"))?;
        Ok(Api { port, state })
    }

    /// The server of this process (spec timeouts), started on first use.
    pub fn process() -> Result<&'static Api, String> {
        PROCESS_API
            .get_or_init(|| Api::start(Timeouts::default()))
            .as_ref()
            .map_err(Clone::clone)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// `http://127.0.0.1:<port>` (no trailing slash).
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The bearer token (64 lowercase hex characters).
    pub fn token(&self) -> &str {
        &self.state.token
    }

    /// Records a hook as running; requests naming its allocation are served from now on.
    pub fn register(&self, info: HookInfo) -> Registration {
        let id = self.state.next_id.fetch_add(1, Ordering::Relaxed);
        let reg = Registration {
            id,
            alloc_id: info.alloc_id.clone(),
            job: info.job.clone(),
            event: info.event.clone(),
        };
        // Semaphores first: a request that finds the hook may acquire at once.
        self.state.sems.join(&reg.job, &reg.event, &reg.alloc_id);
        self.state.hooks().push((id, Arc::new(info)));
        reg
    }

    /// The hook exited: forget it and, when no other hook of that allocation and event
    /// still runs, release every semaphore slot the allocation holds for the event and
    /// cancel its waits (their requests get `404 Invalid allocation ID`).
    /// Returns the released semaphore names.
    pub fn unregister(&self, reg: Registration) -> Vec<String> {
        self.state.hooks().retain(|(id, _)| *id != reg.id);
        self.state.sems.leave(&reg.job, &reg.event, &reg.alloc_id)
    }
}

impl State {
    fn hooks(&self) -> MutexGuard<'_, Vec<(u64, Arc<HookInfo>)>> {
        self.hooks.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// 32 bytes from the OS CSPRNG as 64 lowercase hex characters.
fn new_token() -> String {
    use rand::RngCore;
    let mut b = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut b);
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Equal-length comparison whose time does not depend on where the bytes differ.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn text(status: u16, body: &str) -> Response {
    Response::new(status, format!("{body}\n").into_bytes())
        .with_header("Content-Type", "text/plain; charset=utf-8")
}

fn json_reply(v: &Value) -> Response {
    Response::new(200, v.to_string().into_bytes()).with_header("Content-Type", "application/json")
}

fn empty(status: u16) -> Response {
    Response::new(status, Vec::new())
}

/// Routes of the API and their methods.
const ROUTES: [(&str, &[&str]); 7] = [
    ("/kv", &["GET", "PUT", "DELETE"]),
    ("/kv/secret", &["PUT", "DELETE"]),
    ("/kv/keys", &["GET"]),
    ("/demands", &["GET"]),
    ("/semaphore/acquire", &["POST"]),
    ("/semaphore/release", &["POST"]),
    ("/semaphore/status", &["GET"]),
];

/// A parsed request the endpoint handlers work on.
struct Call<'a> {
    hook: &'a HookInfo,
    state: &'a State,
    body: Option<Map<String, Value>>,
    query: Vec<(String, String)>,
    /// The client, for a semaphore wait to notice it went away.
    peer: &'a Peer,
}

type Handled = Result<Response, Response>;

fn handle(state: &State, rq: &mut Request) -> Response {
    match handle_inner(state, rq) {
        Ok(r) | Err(r) => r,
    }
}

fn handle_inner(state: &State, rq: &mut Request) -> Handled {
    // 1. Token.
    let expected = format!("Bearer {}", state.token);
    let given = rq.header("Authorization").unwrap_or("");
    if !constant_time_eq(given.trim().as_bytes(), expected.as_bytes()) {
        return Err(text(401, msg::UNAUTHORIZED).with_header("WWW-Authenticate", "Bearer"));
    }
    // 2. Route and method.
    let url = rq.target().to_string();
    let (path, query) = url.split_once('?').unwrap_or((url.as_str(), ""));
    let path = if path.len() > 1 {
        path.trim_end_matches('/')
    } else {
        path
    };
    let Some((route, methods)) = ROUTES.iter().find(|(p, _)| *p == path) else {
        return Err(text(404, msg::NOT_FOUND));
    };
    let method = rq.method().to_string();
    if !methods.contains(&method.as_str()) {
        return Err(empty(405));
    }
    // 3–5. The calling hook.
    let alloc = rq
        .header("X-ALLOCATION-ID")
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| text(400, msg::NO_ALLOCATION))?
        .to_string();
    let event = rq.header("EVENT").map(|s| s.trim().to_string());
    let command = rq.header("COMMAND").map(|s| s.trim().to_string());
    let hook = {
        let hooks = state.hooks();
        let of_alloc: Vec<&Arc<HookInfo>> = hooks
            .iter()
            .filter(|(_, h)| h.alloc_id == alloc)
            .map(|(_, h)| h)
            .collect();
        if of_alloc.is_empty() {
            return Err(text(404, msg::BAD_ALLOCATION));
        }
        of_alloc
            .into_iter()
            .find(|h| {
                event.as_deref() == Some(h.event.as_str())
                    && command.as_deref() == Some(h.command.as_str())
            })
            .cloned()
            .ok_or_else(|| text(400, msg::MISMATCH))?
    };
    // 6. Content type (only when a body is present) and size.
    let declared = rq.content_length();
    let mut raw = Vec::new();
    if declared.is_some_and(|n| n > MAX_BODY as u64) {
        if !is_json(rq.header("Content-Type")) {
            return Err(text(415, msg::CONTENT_TYPE));
        }
        return Err(text(413, msg::TOO_LARGE));
    }
    rq.body()
        .take(MAX_BODY as u64 + 1)
        .read_to_end(&mut raw)
        .map_err(|_| text(400, msg::NO_BODY))?;
    let has_body = !raw.iter().all(u8::is_ascii_whitespace);
    if has_body && !is_json(rq.header("Content-Type")) {
        return Err(text(415, msg::CONTENT_TYPE));
    }
    if raw.len() > MAX_BODY {
        return Err(text(413, msg::TOO_LARGE));
    }
    // 7. Body parse.
    let body = if has_body {
        match serde_json::from_slice::<Value>(&raw) {
            Ok(Value::Object(m)) => Some(m),
            _ => return Err(text(400, msg::BAD_JSON)),
        }
    } else {
        None
    };
    let call = Call {
        hook: &hook,
        state,
        body,
        query: parse_query(query),
        peer: rq.peer(),
    };
    match (*route, method.as_str()) {
        ("/kv", "GET") => kv_get(&call),
        ("/kv", "PUT") => kv_put(&call, false),
        ("/kv", "DELETE") => kv_delete(&call, false),
        ("/kv/secret", "PUT") => kv_put(&call, true),
        ("/kv/secret", "DELETE") => kv_delete(&call, true),
        ("/kv/keys", _) => kv_keys(&call),
        ("/demands", _) => Ok(json_reply(&hook.demands)),
        ("/semaphore/acquire", _) => sem_acquire(&call),
        ("/semaphore/release", _) => sem_release(&call),
        ("/semaphore/status", _) => sem_status(&call),
        _ => Err(empty(405)),
    }
}

fn is_json(ct: Option<&str>) -> bool {
    ct.and_then(|c| c.split(';').next())
        .is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json"))
}

fn parse_query(q: &str) -> Vec<(String, String)> {
    q.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect()
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let hex = |c: u8| (c as char).to_digit(16).map(|d| d as u8);
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < b.len() => match (hex(b[i + 1]), hex(b[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push(h * 16 + l);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

impl Call<'_> {
    /// A string field of the body (`None` when absent, null or empty); another JSON type
    /// is a 400 `Invalid JSON format`.
    fn field(&self, name: &str) -> Result<Option<String>, Response> {
        match self.body.as_ref().and_then(|b| b.get(name)) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) if s.is_empty() => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(text(400, msg::BAD_JSON)),
        }
    }

    /// A field from the body, or from the query string when the body is empty.
    fn field_or_query(&self, name: &str) -> Result<Option<String>, Response> {
        if self.body.is_some() {
            return self.field(name);
        }
        Ok(self
            .query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .filter(|v| !v.is_empty()))
    }

    fn require_body(&self) -> Result<(), Response> {
        if self.body.is_none() {
            return Err(text(400, msg::NO_BODY));
        }
        Ok(())
    }

    fn kv(&self) -> MutexGuard<'_, KvStore> {
        self.hook.kv.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn is_health(&self) -> bool {
        self.hook.event == "health_check"
    }

    fn internal(&self, what: &str, e: impl std::fmt::Display) -> Response {
        if let Some(sink) = &self.hook.sink {
            let _ = sink.warning(&format!(
                "hooks runtime API: {what} for job {} on {}: {e}",
                self.hook.job, self.hook.worker
            ));
        }
        text(500, msg::INTERNAL)
    }

    fn scope(&self, name: &str) -> super::semaphore::Scope {
        (
            self.hook.job.clone(),
            self.hook.event.clone(),
            name.to_string(),
        )
    }
}

fn both(ns: Option<String>, key: Option<String>) -> Result<(String, String), Response> {
    match (ns, key) {
        (Some(n), Some(k)) => Ok((n, k)),
        _ => Err(text(400, msg::MISSING)),
    }
}

fn kv_get(c: &Call) -> Handled {
    let (ns, key) = both(c.field_or_query("namespace")?, c.field_or_query("key")?)?;
    if !c.hook.reader.can_read(&ns) {
        return Err(text(400, msg::NAMESPACE));
    }
    let value = c.kv().get(&ns, &key);
    match value {
        Ok(Some(v)) => {
            if crate::kv::policy::is_secret_namespace(&ns) {
                if let Some(sink) = &c.hook.sink {
                    sink.add_secret(&v);
                }
            }
            Ok(json_reply(
                &json!({ "namespace": ns, "key": key, "value": v }),
            ))
        }
        Ok(None) => Err(text(404, msg::KV_MISSING)),
        Err(e) => Err(c.internal("KV read", e)),
    }
}

fn kv_put(c: &Call, secret: bool) -> Handled {
    c.require_body()?;
    let ns = c.field("namespace")?;
    let key = c.field("key")?;
    let value = c.field("value")?;
    let value = if secret {
        value
    } else {
        value.filter(|v| !v.trim().is_empty())
    };
    let (ns, key) = both(ns, key)?;
    let Some(value) = value else {
        return Err(text(400, msg::MISSING));
    };
    let allowed = if secret {
        c.hook.reader.can_write_secret(&ns)
    } else {
        !crate::kv::policy::is_secret_namespace(&ns)
            && c.hook.reader.can_put(&ns, &key, &c.hook.event)
    };
    if !allowed {
        return Err(text(400, msg::NAMESPACE));
    }
    if c.is_health() {
        return Err(text(400, msg::HEALTH_WRITE));
    }
    if secret {
        if let Some(sink) = &c.hook.sink {
            sink.add_secret(&value);
        }
    }
    let result = c.kv().put(&ns, &key, &value);
    match result {
        Ok(()) => Ok(empty(200)),
        Err(e) => Err(c.internal("KV write", e)),
    }
}

fn kv_delete(c: &Call, secret: bool) -> Handled {
    c.require_body()?;
    let (ns, key) = both(c.field("namespace")?, c.field("key")?)?;
    let allowed = if secret {
        c.hook.reader.can_write_secret(&ns)
    } else {
        c.hook.reader.can_delete(&ns)
    };
    if !allowed {
        return Err(text(400, msg::NAMESPACE));
    }
    if c.is_health() {
        return Err(text(400, msg::HEALTH_WRITE));
    }
    if c.kv().delete(&ns, &key) {
        Ok(empty(200))
    } else {
        Err(text(404, msg::KV_MISSING))
    }
}

fn kv_keys(c: &Call) -> Handled {
    let own = [
        format!("vars/job/{}", c.hook.job),
        format!("secrets/job/{}", c.hook.job),
    ];
    let wanted: Vec<String> = match c.field_or_query("namespace")? {
        None => own.to_vec(),
        Some(ns) if own.contains(&ns) => vec![ns],
        Some(_) => return Err(text(400, msg::NAMESPACE)),
    };
    let kv = c.kv();
    let mut out = Map::new();
    for ns in wanted {
        let keys = kv.keys(&ns);
        out.insert(ns, json!(keys));
    }
    Ok(json_reply(&json!({ "namespaces": out })))
}

/// A number field (`capacity`, `timeout_seconds`); numeric strings are accepted too.
fn number(c: &Call, name: &str) -> Result<Option<f64>, Response> {
    match c.body.as_ref().and_then(|b| b.get(name)) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => Ok(n.as_f64()),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(Value::String(s)) => s
            .trim()
            .parse::<f64>()
            .map(Some)
            .map_err(|_| text(400, msg::BAD_JSON)),
        Some(_) => Err(text(400, msg::BAD_JSON)),
    }
}

fn sem_name(c: &Call) -> Result<String, Response> {
    c.field_or_query("name")?
        .ok_or_else(|| text(400, msg::MISSING))
}

fn sem_acquire(c: &Call) -> Handled {
    c.require_body()?;
    let name = sem_name(c)?;
    let capacity = number(c, "capacity")?.map(|f| f.floor() as i64);
    let timeout = normalize_timeout(number(c, "timeout_seconds")?);
    let capacity = normalize_capacity(capacity).map_err(|_| text(409, msg::SEM_CONFLICT))?;
    let gone = || c.peer.is_gone();
    match c
        .state
        .sems
        .acquire(&c.scope(&name), &c.hook.alloc_id, capacity, timeout, &gone)
    {
        Ok(()) => Ok(json_reply(&json!({
            "name": name,
            "allocation_id": c.hook.alloc_id,
            "capacity": capacity,
            "acquired": true,
        }))),
        Err(SemError::TimedOut) => Err(text(408, msg::SEM_TIMEOUT)),
        Err(SemError::Conflict) => Err(text(409, msg::SEM_CONFLICT)),
        // The hook exited while its request waited (or its client went away).
        Err(SemError::Cancelled) => Err(text(404, msg::BAD_ALLOCATION)),
    }
}

fn sem_release(c: &Call) -> Handled {
    c.require_body()?;
    let name = sem_name(c)?;
    match c.state.sems.release(&c.scope(&name), &c.hook.alloc_id) {
        Ok(()) => Ok(empty(200)),
        Err(_) => Err(text(409, msg::SEM_CONFLICT)),
    }
}

fn sem_status(c: &Call) -> Handled {
    let name = sem_name(c)?;
    let s = c.state.sems.status(&c.scope(&name));
    Ok(json_reply(&json!({
        "name": name,
        "capacity": s.capacity,
        "holders": s.holders,
        "waiting": s.waiting,
        "available": s.available,
    })))
}

#[cfg(test)]
#[path = "api_tests.rs"]
mod tests;
