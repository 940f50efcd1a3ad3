//! The runtime API over real HTTP on 127.0.0.1 (spec 07 §7): every status and message of
//! §7.11, the processing order, the access matrix and semaphores.

use super::*;
use std::io::Write;
use std::net::TcpStream;
use std::time::{Duration, Instant};

const ALLOC: &str = "11111111-1111-3111-8111-111111111111";
const OTHER: &str = "22222222-2222-3222-8222-222222222222";

struct Fixture {
    api: Api,
    kv: Arc<Mutex<KvStore>>,
    _dir: tempfile::TempDir,
}

struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    #[track_caller]
    fn is(&self, status: u16, body: &str) {
        assert_eq!(
            (self.status, self.body.as_str()),
            (status, body),
            "headers {:?}",
            self.headers
        );
    }

    #[track_caller]
    fn err(&self, status: u16, message: &str) {
        self.is(status, &format!("{message}\n"));
        assert_eq!(
            self.header("Content-Type"),
            Some("text/plain; charset=utf-8")
        );
    }
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("kv.key");
    std::fs::write(&key, crate::kv::crypto::new_key_bytes()).unwrap();
    let mut kv = KvStore::empty(key);
    for (ns, k, v) in [
        ("maand/bucket", "bucket_id", "b-1"),
        ("maand/job/api", "rollout_order", "10.0.0.1"),
        ("maand/job/api/worker/10.0.0.1", "x", "1"),
        ("maand/job/api/worker/10.0.0.2", "x", "2"),
        ("maand/worker/10.0.0.1", "w", "1"),
        ("maand/worker/10.0.0.2", "w", "2"),
        ("vars/job/api", "a", "1"),
        ("vars/job/db", "url", "pg://"),
        ("vars/job/other", "o", "1"),
        ("vars/bucket/job/db", "t", "1"),
        ("secrets/job/db", "pw", "hunter2"),
    ] {
        kv.put(ns, k, v).unwrap();
    }
    Fixture {
        api: Api::start(Timeouts::default()).unwrap(),
        kv: Arc::new(Mutex::new(kv)),
        _dir: dir,
    }
}

impl Fixture {
    fn register(&self, alloc: &str, event: &str, command: &str) -> Registration {
        self.api.register(HookInfo {
            alloc_id: alloc.into(),
            job: "api".into(),
            worker: if alloc == ALLOC {
                "10.0.0.1"
            } else {
                "10.0.0.2"
            }
            .into(),
            event: event.into(),
            command: command.into(),
            reader: Reader {
                job: "api".into(),
                worker: Some(
                    if alloc == ALLOC {
                        "10.0.0.1"
                    } else {
                        "10.0.0.2"
                    }
                    .into(),
                ),
                upstream: vec!["db".into()],
            },
            demands: json!([{ "job": "web", "command": "command_x", "demand_config": {} }]),
            kv: Arc::clone(&self.kv),
            sink: None,
        })
    }

    /// A raw request; `headers` replace the defaults of the same name.
    fn raw(&self, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Reply {
        let mut s = TcpStream::connect(("127.0.0.1", self.api.port())).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        let mut req =
            format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n");
        for (k, v) in headers {
            req.push_str(&format!("{k}: {v}\r\n"));
        }
        if !body.is_empty() || method != "GET" {
            req.push_str(&format!("Content-Length: {}\r\n", body.len()));
        }
        req.push_str("\r\n");
        s.write_all(req.as_bytes()).unwrap();
        let _ = s.write_all(body);
        let mut out = Vec::new();
        let _ = s.read_to_end(&mut out);
        let text = String::from_utf8_lossy(&out).into_owned();
        let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
        let mut lines = head.lines();
        let status = lines
            .next()
            .and_then(|l| l.split(' ').nth(1))
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        let headers = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
            .collect();
        Reply {
            status,
            headers,
            body: body.to_string(),
        }
    }

    /// An authenticated request of the hook `alloc` running `event`/`command`.
    fn call_as(
        &self,
        alloc: &str,
        event: &str,
        command: &str,
        method: &str,
        path: &str,
        body: Option<Value>,
    ) -> Reply {
        let auth = format!("Bearer {}", self.api.token());
        let mut h = vec![
            ("Authorization", auth.as_str()),
            ("X-ALLOCATION-ID", alloc),
            ("EVENT", event),
            ("COMMAND", command),
        ];
        let body = body.map(|b| b.to_string()).unwrap_or_default();
        if !body.is_empty() {
            h.push(("Content-Type", "application/json"));
        }
        self.raw(method, path, &h, body.as_bytes())
    }

    fn call(&self, method: &str, path: &str, body: Option<Value>) -> Reply {
        self.call_as(ALLOC, "cli", "command_a", method, path, body)
    }
}

#[test]
fn token_is_checked_first() {
    let f = fixture();
    assert_eq!(f.api.token().len(), 64);
    assert!(f
        .api
        .token()
        .chars()
        .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()));
    let r = f.raw("GET", "/nope", &[], b"");
    r.err(401, msg::UNAUTHORIZED);
    assert_eq!(r.header("WWW-Authenticate"), Some("Bearer"));
    f.raw("GET", "/kv", &[("Authorization", "Bearer 00")], b"")
        .err(401, msg::UNAUTHORIZED);
    let wrong = format!("Bearer {}", "0".repeat(64));
    f.raw("GET", "/kv", &[("Authorization", wrong.as_str())], b"")
        .err(401, msg::UNAUTHORIZED);
}

#[test]
fn routing_headers_and_registry() {
    let f = fixture();
    let auth = format!("Bearer {}", f.api.token());
    let a = [("Authorization", auth.as_str())];
    f.raw("GET", "/unknown", &a, b"").err(404, msg::NOT_FOUND);
    f.raw("POST", "/kv", &a, b"").is(405, "");
    f.raw("GET", "/kv/secret", &a, b"").is(405, "");
    f.raw("GET", "/kv", &a, b"").err(400, msg::NO_ALLOCATION);
    f.call("GET", "/demands", None)
        .err(404, msg::BAD_ALLOCATION);
    let reg = f.register(ALLOC, "cli", "command_a");
    f.call_as(ALLOC, "pre_deploy", "command_a", "GET", "/demands", None)
        .err(400, msg::MISMATCH);
    f.call_as(ALLOC, "cli", "command_b", "GET", "/demands", None)
        .err(400, msg::MISMATCH);
    let r = f.raw(
        "GET",
        "/demands",
        &[("Authorization", auth.as_str()), ("X-ALLOCATION-ID", ALLOC)],
        b"",
    );
    r.err(400, msg::MISMATCH);
    let r = f.call("GET", "/demands", None);
    assert_eq!(r.status, 200);
    assert_eq!(r.header("Content-Type"), Some("application/json"));
    assert_eq!(r.json()[0]["job"], "web");
    f.api.unregister(reg);
    f.call("GET", "/demands", None)
        .err(404, msg::BAD_ALLOCATION);
}

#[test]
fn bodies_content_type_and_size() {
    let f = fixture();
    let _reg = f.register(ALLOC, "cli", "command_a");
    let auth = format!("Bearer {}", f.api.token());
    let base = [
        ("Authorization", auth.as_str()),
        ("X-ALLOCATION-ID", ALLOC),
        ("EVENT", "cli"),
        ("COMMAND", "command_a"),
    ];
    let mut h = base.to_vec();
    h.push(("Content-Type", "text/plain"));
    f.raw("PUT", "/kv", &h, br#"{"namespace":"vars/job/api"}"#)
        .err(415, msg::CONTENT_TYPE);
    let mut h = base.to_vec();
    h.push(("Content-Type", "application/json"));
    let big = vec![b' '; MAX_BODY + 10];
    f.raw("PUT", "/kv", &h, &big).err(413, msg::TOO_LARGE);
    f.raw("PUT", "/kv", &h, b"").err(400, msg::NO_BODY);
    f.raw("PUT", "/kv", &h, b"{not json")
        .err(400, msg::BAD_JSON);
    f.raw("PUT", "/kv", &h, b"[1]").err(400, msg::BAD_JSON);
    f.call(
        "PUT",
        "/kv",
        Some(json!({"namespace": "vars/job/api", "key": 1, "value": "x"})),
    )
    .err(400, msg::BAD_JSON);
    f.call(
        "PUT",
        "/kv",
        Some(json!({"namespace": "vars/job/api", "key": "k"})),
    )
    .err(400, msg::MISSING);
    f.call(
        "PUT",
        "/kv",
        Some(json!({"namespace": "vars/job/api", "key": "k", "value": "  "})),
    )
    .err(400, msg::MISSING);
    f.call("GET", "/kv", Some(json!({"namespace": "vars/job/api"})))
        .err(400, msg::MISSING);
    // Without a body, GET /kv takes query parameters; GET /kv/keys means {}.
    let r = f.call("GET", "/kv?namespace=vars%2Fjob%2Fapi&key=a", None);
    assert_eq!(
        r.json(),
        json!({"namespace": "vars/job/api", "key": "a", "value": "1"})
    );
    f.call("GET", "/kv", None).err(400, msg::MISSING);
    let r = f.call("GET", "/kv/keys", None);
    assert_eq!(
        r.json(),
        json!({"namespaces": {"vars/job/api": ["a"], "secrets/job/api": []}})
    );
}

#[test]
fn kv_access_matrix() {
    let f = fixture();
    let _reg = f.register(ALLOC, "cli", "command_a");
    let get =
        |ns: &str, key: &str| f.call("GET", "/kv", Some(json!({"namespace": ns, "key": key})));
    assert_eq!(get("maand/bucket", "bucket_id").json()["value"], "b-1");
    assert_eq!(get("vars/job/db", "url").json()["value"], "pg://");
    assert_eq!(get("secrets/job/db", "pw").json()["value"], "hunter2");
    assert_eq!(get("maand/worker/10.0.0.1", "w").json()["value"], "1");
    assert_eq!(
        get("maand/job/api/worker/10.0.0.1", "x").json()["value"],
        "1"
    );
    get("maand/bucket", "missing").err(404, msg::KV_MISSING);
    for ns in [
        "maand/worker/10.0.0.2",
        "maand/job/api/worker/10.0.0.2",
        "vars/job/other",
        "vars/bucket/job/db",
        "maand/job/db/worker/10.0.0.1",
        "vars/job",
    ] {
        get(ns, "x").err(400, msg::NAMESPACE);
    }
    let put = |path: &str, ns: &str, key: &str| {
        f.call(
            "PUT",
            path,
            Some(json!({"namespace": ns, "key": key, "value": "v"})),
        )
    };
    put("/kv", "vars/job/api", "new").is(200, "");
    assert_eq!(get("vars/job/api", "new").json()["value"], "v");
    put("/kv", "maand/job/api", "rollout_order").is(200, "");
    put("/kv", "maand/job/api", "other").err(400, msg::NAMESPACE);
    put("/kv", "secrets/job/api", "s").err(400, msg::NAMESPACE);
    put("/kv", "vars/job/db", "x").err(400, msg::NAMESPACE);
    put("/kv/secret", "vars/job/api", "s").err(400, msg::NAMESPACE);
    put("/kv/secret", "secrets/job/db", "s").err(400, msg::NAMESPACE);
    put("/kv/secret", "secrets/job/api", "s").is(200, "");
    assert_eq!(get("secrets/job/api", "s").json()["value"], "v");
    let stored = f.kv.lock().unwrap().keys("secrets/job/api");
    assert_eq!(stored, vec!["s".to_string()]);
    let del = |path: &str, ns: &str, key: &str| {
        f.call("DELETE", path, Some(json!({"namespace": ns, "key": key})))
    };
    del("/kv", "maand/job/api", "rollout_order").err(400, msg::NAMESPACE);
    del("/kv", "vars/job/api", "new").is(200, "");
    del("/kv", "vars/job/api", "new").err(404, msg::KV_MISSING);
    del("/kv/secret", "secrets/job/api", "s").is(200, "");
    del("/kv/secret", "secrets/job/api", "s").err(404, msg::KV_MISSING);
    let keys = |body: Value| f.call("GET", "/kv/keys", Some(body));
    assert_eq!(
        keys(json!({"namespace": "vars/job/api"})).json(),
        json!({"namespaces": {"vars/job/api": ["a"]}})
    );
    keys(json!({"namespace": "vars/job/db"})).err(400, msg::NAMESPACE);
}

#[test]
fn rollout_order_and_health_check_bans() {
    let f = fixture();
    let _a = f.register(ALLOC, "post_deploy", "command_a");
    let _b = f.register(OTHER, "health_check", "command_h");
    let body = json!({"namespace": "maand/job/api", "key": "rollout_order", "value": "x"});
    f.call_as(
        ALLOC,
        "post_deploy",
        "command_a",
        "PUT",
        "/kv",
        Some(body.clone()),
    )
    .err(400, msg::NAMESPACE);
    let h =
        |m: &str, p: &str, b: Value| f.call_as(OTHER, "health_check", "command_h", m, p, Some(b));
    // The namespace check comes first, then the ban.
    h("PUT", "/kv", body).err(400, msg::NAMESPACE);
    h(
        "PUT",
        "/kv",
        json!({"namespace": "vars/job/api", "key": "k", "value": "v"}),
    )
    .err(400, msg::HEALTH_WRITE);
    h(
        "DELETE",
        "/kv",
        json!({"namespace": "vars/job/api", "key": "a"}),
    )
    .err(400, msg::HEALTH_WRITE);
    h(
        "PUT",
        "/kv/secret",
        json!({"namespace": "secrets/job/api", "key": "k", "value": "v"}),
    )
    .err(400, msg::HEALTH_WRITE);
    h(
        "DELETE",
        "/kv/secret",
        json!({"namespace": "secrets/job/api", "key": "k"}),
    )
    .err(400, msg::HEALTH_WRITE);
    assert_eq!(
        h(
            "GET",
            "/kv",
            json!({"namespace": "vars/job/api", "key": "a"})
        )
        .json()["value"],
        "1"
    );
    let r = h("POST", "/semaphore/acquire", json!({"name": "m"}));
    assert_eq!(r.json()["acquired"], true);
}

#[test]
fn semaphores_over_http() {
    let f = Arc::new(fixture());
    let _a = f.register(ALLOC, "cli", "command_a");
    let b = f.register(OTHER, "cli", "command_a");
    let acq = |alloc: &str, body: Value| acquire_with(&f, alloc, body);
    acq(ALLOC, json!({})).err(400, msg::MISSING);
    f.call("GET", "/semaphore/status", None)
        .err(400, msg::MISSING);
    let st = f.call("GET", "/semaphore/status?name=mig", None).json();
    assert_eq!(
        st,
        json!({"name": "mig", "capacity": 1, "holders": [], "waiting": 0, "available": 1})
    );
    acq(ALLOC, json!({"name": "big", "capacity": 65})).err(409, msg::SEM_CONFLICT);
    let r = acq(
        ALLOC,
        json!({"name": "mig", "capacity": 1, "timeout_seconds": 5}),
    );
    assert_eq!(
        r.json(),
        json!({"name": "mig", "allocation_id": ALLOC, "capacity": 1, "acquired": true})
    );
    // A holder acquiring again is granted at once.
    assert_eq!(acq(ALLOC, json!({"name": "mig"})).status, 200);
    acq(ALLOC, json!({"name": "mig", "capacity": 2})).err(409, msg::SEM_CONFLICT);
    // Another allocation times out.
    let t = Instant::now();
    acq(OTHER, json!({"name": "mig", "timeout_seconds": 1})).err(408, msg::SEM_TIMEOUT);
    assert!(t.elapsed() >= Duration::from_millis(900));
    assert_eq!(
        f.call("GET", "/semaphore/status?name=mig", None).json()["waiting"],
        0
    );
    // A waiter is granted when the holder releases.
    let f2 = Arc::clone(&f);
    let waiter = std::thread::spawn(move || {
        f2.call_as(
            OTHER,
            "cli",
            "command_a",
            "POST",
            "/semaphore/acquire",
            Some(json!({"name": "mig", "timeout_seconds": 10})),
        )
        .status
    });
    let t = Instant::now();
    while f.call("GET", "/semaphore/status?name=mig", None).json()["waiting"] != 1 {
        assert!(t.elapsed() < Duration::from_secs(5));
        std::thread::sleep(Duration::from_millis(20));
    }
    f.call("POST", "/semaphore/release", Some(json!({"name": "mig"})))
        .is(200, "");
    assert_eq!(waiter.join().unwrap(), 200);
    let st = f.call("GET", "/semaphore/status?name=mig", None).json();
    assert_eq!(st["holders"], json!([OTHER]));
    assert_eq!(st["available"], 0);
    f.call("POST", "/semaphore/release", Some(json!({"name": "mig"})))
        .err(409, msg::SEM_CONFLICT);
    f.call("POST", "/semaphore/release", Some(json!({"name": "never"})))
        .err(409, msg::SEM_CONFLICT);
    // Scope includes the event: the same name under pre_deploy is another semaphore.
    let _c = f.register(ALLOC, "pre_deploy", "command_p");
    let r = f.call_as(
        ALLOC,
        "pre_deploy",
        "command_p",
        "POST",
        "/semaphore/acquire",
        Some(json!({"name": "mig", "timeout_seconds": 1})),
    );
    assert_eq!(r.status, 200);
    // The holder's hook exits: its slots are released.
    assert_eq!(f.api.unregister(b), vec!["mig".to_string()]);
    let st = f.call("GET", "/semaphore/status?name=mig", None).json();
    assert_eq!(st["holders"], json!([]));
}

/// `n` allocations of `command_a`, each with a `cli` hook running.
fn running_hooks(f: &Fixture, n: usize) -> (Vec<String>, Vec<Registration>) {
    let ids: Vec<String> = (0..n)
        .map(|i| format!("00000000-0000-3000-8000-00000000000{i}"))
        .collect();
    let regs = ids
        .iter()
        .map(|id| f.register(id, "cli", "command_a"))
        .collect();
    (ids, regs)
}

#[test]
fn capacity_and_fifo() {
    let f = Arc::new(fixture());
    let (ids, _regs) = running_hooks(&f, 4);
    let acq = |f: &Fixture, id: &str| {
        f.call_as(
            id,
            "cli",
            "command_a",
            "POST",
            "/semaphore/acquire",
            Some(json!({"name": "n", "capacity": 2, "timeout_seconds": 10})),
        )
        .status
    };
    assert_eq!(acq(&f, &ids[0]), 200);
    assert_eq!(acq(&f, &ids[1]), 200);
    let order = Arc::new(Mutex::new(Vec::new()));
    let mut hs = Vec::new();
    for id in &ids[2..] {
        let (f2, id, order2) = (Arc::clone(&f), id.clone(), Arc::clone(&order));
        let n = order.lock().unwrap().len();
        hs.push(std::thread::spawn(move || {
            assert_eq!(acq(&f2, &id), 200);
            order2.lock().unwrap().push(id);
        }));
        let t = Instant::now();
        let status = |f: &Fixture| {
            f.call_as(
                &ids[0],
                "cli",
                "command_a",
                "GET",
                "/semaphore/status?name=n",
                None,
            )
            .json()["waiting"]
                .as_u64()
                .unwrap()
        };
        while status(&f) != (hs.len() as u64) {
            assert!(t.elapsed() < Duration::from_secs(5), "{n}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    let release = |id: &str| {
        f.call_as(
            id,
            "cli",
            "command_a",
            "POST",
            "/semaphore/release",
            Some(json!({"name": "n"})),
        )
        .status
    };
    assert_eq!(release(&ids[0]), 200);
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(*order.lock().unwrap(), vec![ids[2].clone()]);
    assert_eq!(release(&ids[1]), 200);
    for h in hs {
        h.join().unwrap();
    }
    assert_eq!(*order.lock().unwrap(), vec![ids[2].clone(), ids[3].clone()]);
}

#[test]
fn kv_failures_are_internal_errors() {
    let f = fixture();
    // A session whose key file is missing cannot encrypt: 500, details only in the log.
    let broken = Arc::new(Mutex::new(KvStore::empty(
        f._dir.path().join("missing.key"),
    )));
    let _reg = f.api.register(HookInfo {
        alloc_id: ALLOC.into(),
        job: "api".into(),
        worker: "10.0.0.1".into(),
        event: "cli".into(),
        command: "command_a".into(),
        reader: Reader {
            job: "api".into(),
            worker: Some("10.0.0.1".into()),
            upstream: Vec::new(),
        },
        demands: json!([]),
        kv: broken,
        sink: None,
    });
    f.call(
        "PUT",
        "/kv/secret",
        Some(json!({"namespace": "secrets/job/api", "key": "k", "value": "v"})),
    )
    .err(500, msg::INTERNAL);
    assert_eq!(f.call("GET", "/demands", None).json(), json!([]));
}

/// Waits until semaphore `name` (job api, event cli) has `n` waiters (at most 10 s),
/// asking as the running hook `alloc`.
#[track_caller]
fn wait_for_waiters(f: &Fixture, alloc: &str, name: &str, n: u64) {
    let t = Instant::now();
    loop {
        let path = format!("/semaphore/status?name={name}");
        let st = f
            .call_as(alloc, "cli", "command_a", "GET", &path, None)
            .json();
        if st["waiting"] == n {
            return;
        }
        assert!(t.elapsed() < Duration::from_secs(10), "{st}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn acquire(f: &Fixture, alloc: &str, name: &str, timeout_seconds: u64) -> Reply {
    acquire_with(
        f,
        alloc,
        json!({"name": name, "timeout_seconds": timeout_seconds}),
    )
}

/// `POST /semaphore/acquire` by `alloc`'s `cli` hook of `command_a`.
fn acquire_with(f: &Fixture, alloc: &str, body: Value) -> Reply {
    f.call_as(
        alloc,
        "cli",
        "command_a",
        "POST",
        "/semaphore/acquire",
        Some(body),
    )
}

/// Issue 6: a hook that exits while it waits must lose its place in the queue; the slot
/// used to be granted to it on the next release, and never released again.
#[test]
fn an_exited_waiter_is_cancelled_and_never_granted() {
    let f = Arc::new(fixture());
    let _a = f.register(ALLOC, "cli", "command_a");
    let b = f.register(OTHER, "cli", "command_a");
    assert_eq!(acquire(&f, ALLOC, "m", 5).status, 200);
    let f2 = Arc::clone(&f);
    let waiter = std::thread::spawn(move || {
        let t = Instant::now();
        let r = acquire(&f2, OTHER, "m", 15);
        (r.status, r.body, t.elapsed())
    });
    wait_for_waiters(&f, ALLOC, "m", 1);
    assert_eq!(f.api.unregister(b), Vec::<String>::new());
    let (status, body, took) = waiter.join().unwrap();
    assert_eq!(
        (status, body.as_str()),
        (404, format!("{}\n", msg::BAD_ALLOCATION).as_str())
    );
    assert!(took < Duration::from_secs(10), "{took:?}");
    let st = f.call("GET", "/semaphore/status?name=m", None).json();
    assert_eq!(
        (&st["holders"], &st["waiting"]),
        (&json!([ALLOC]), &json!(0))
    );
    f.call("POST", "/semaphore/release", Some(json!({"name": "m"})))
        .is(200, "");
    let st = f.call("GET", "/semaphore/status?name=m", None).json();
    assert_eq!(st["holders"], json!([]));
    assert_eq!(acquire(&f, ALLOC, "m", 1).status, 200);
}

/// Spec 07 §7.10: a waiter whose client disconnects is removed; the slot goes to the next
/// live waiter.
#[test]
fn a_waiter_whose_client_disconnects_is_removed() {
    let f = Arc::new(fixture());
    let (ids, _regs) = running_hooks(&f, 3);
    assert_eq!(acquire(&f, &ids[0], "d", 5).status, 200);
    // A client that sends its acquire and goes away without reading the answer.
    let body = json!({"name": "d", "timeout_seconds": 30}).to_string();
    let mut quitter = TcpStream::connect(("127.0.0.1", f.api.port())).unwrap();
    write!(
        quitter,
        "POST /semaphore/acquire HTTP/1.1\r\nAuthorization: Bearer {}\r\nX-ALLOCATION-ID: {}\r\n\
         EVENT: cli\r\nCOMMAND: command_a\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\n\r\n{body}",
        f.api.token(),
        ids[1],
        body.len()
    )
    .unwrap();
    wait_for_waiters(&f, &ids[0], "d", 1);
    let (f2, live) = (Arc::clone(&f), ids[2].clone());
    let waiter = std::thread::spawn(move || acquire(&f2, &live, "d", 30).status);
    wait_for_waiters(&f, &ids[0], "d", 2);
    drop(quitter);
    wait_for_waiters(&f, &ids[0], "d", 1);
    let release = f.call_as(
        &ids[0],
        "cli",
        "command_a",
        "POST",
        "/semaphore/release",
        Some(json!({"name": "d"})),
    );
    release.is(200, "");
    assert_eq!(waiter.join().unwrap(), 200);
    let st = f
        .call_as(
            &ids[0],
            "cli",
            "command_a",
            "GET",
            "/semaphore/status?name=d",
            None,
        )
        .json();
    assert_eq!(st["holders"], json!([ids[2]]));
}

/// The server applies the timeouts it was started with (spec: 10 s per request).
#[test]
fn a_request_that_never_completes_is_dropped() {
    let api = Api::start(Timeouts {
        request: Duration::from_millis(300),
        idle: Duration::from_millis(300),
    })
    .unwrap();
    let mut s = TcpStream::connect(("127.0.0.1", api.port())).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let t = Instant::now();
    s.write_all(b"GET /kv HTTP/1.1\r\nAuthorization: Bearer ")
        .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    assert!(out.starts_with("HTTP/1.1 408 "), "{out}");
    assert!(t.elapsed() < Duration::from_secs(10));
}
