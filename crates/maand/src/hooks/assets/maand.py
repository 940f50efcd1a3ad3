"""maand hook helper (written by maand next to every hook script; do not edit).

Standard library only (Python >= 3.8). Talks to the runtime API of the maand process that
started the hook (MAAND_API_URL + MAAND_API_TOKEN) and reaches workers over SSH with the
bucket's maand.conf.
"""

import json
import os
import shlex
import subprocess
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

__all__ = [
    "Response", "HTTPError", "ConnectionError",
    "allocation_id", "allocation_ip", "allocation_index", "job_name", "command_event",
    "command_name", "is_allocation_disabled",
    "get_store_value", "get_kv_value", "put_job_variable", "delete_job_variable",
    "put_job_secret", "delete_job_secret", "list_job_keys", "put_rollout_order",
    "get_rollout_order", "list_command_demands", "acquire_semaphore", "release_semaphore",
    "semaphore_status",
    "get_allocation_id", "get_allocation_ip", "get_allocation_index", "get_event",
    "get_command", "get_job", "kv_get", "kv_put", "kv_put_secret", "get_demands",
    "find_bucket_root", "load_ssh", "run_ssh", "run_runner_target", "run_make_target",
]

DEFAULT_TIMEOUT = 60


class HTTPError(OSError):
    """An error status turned into an exception by ``Response.raise_for_status()``."""

    def __init__(self, message, response=None):
        super().__init__(message)
        self.response = response


class ConnectionError(OSError):  # noqa: A001 - the documented name
    """The runtime API could not be reached."""


class _Headers(dict):
    """A case-insensitive header mapping."""

    def __init__(self, pairs=()):
        super().__init__()
        for k, v in pairs:
            self[k] = v

    def __setitem__(self, key, value):
        super().__setitem__(key.lower(), value)

    def __getitem__(self, key):
        return super().__getitem__(key.lower())

    def __contains__(self, key):
        return super().__contains__(key.lower())

    def get(self, key, default=None):
        return super().get(key.lower(), default)


class Response:
    """The subset of ``requests.Response`` hook scripts use."""

    def __init__(self, status_code, content, headers, url):
        self.status_code = int(status_code)
        self.content = content or b""
        self.headers = _Headers(headers)
        self.url = url

    @property
    def text(self):
        return self.content.decode("utf-8", errors="replace")

    @property
    def ok(self):
        return self.status_code < 400

    def __bool__(self):
        return self.ok

    def json(self):
        try:
            return json.loads(self.text)
        except json.JSONDecodeError as e:
            raise ValueError(f"invalid JSON in response from {self.url}: {e}") from e

    def raise_for_status(self):
        if self.status_code >= 400:
            raise HTTPError(
                f"{self.status_code} Error: {self.text.strip()} for url: {self.url}",
                response=self,
            )
        return None

    def __repr__(self):
        return f"<Response [{self.status_code}]>"


# --- context ---------------------------------------------------------------------------


def allocation_id():
    return os.environ.get("ALLOCATION_ID")


def allocation_ip():
    return os.environ.get("ALLOCATION_IP")


def allocation_index():
    return os.environ.get("ALLOCATION_INDEX")


def job_name():
    return os.environ.get("JOB")


def command_event():
    return os.environ.get("EVENT")


def command_name():
    return os.environ.get("COMMAND")


def is_allocation_disabled():
    return os.environ.get("DISABLED") == "1"


# --- HTTP ------------------------------------------------------------------------------


def _base_url():
    url = os.environ.get("MAAND_API_URL")
    if url:
        return url.rstrip("/")
    host = os.environ.get("JOB_COMMAND_API_HOST") or "127.0.0.1"
    port = os.environ.get("JOB_COMMAND_API_PORT") or "8080"
    return f"http://{host}:{port}"


# Never send the token through an HTTP proxy from the environment.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def _request(method, path, body=None, params=None, timeout=DEFAULT_TIMEOUT):
    url = _base_url() + path
    if params:
        url += "?" + urllib.parse.urlencode(params)
    headers = {
        "X-ALLOCATION-ID": os.environ.get("ALLOCATION_ID", ""),
        "EVENT": os.environ.get("EVENT", ""),
        "COMMAND": os.environ.get("COMMAND", ""),
    }
    token = os.environ.get("MAAND_API_TOKEN")
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = None
    if body is not None:
        data = json.dumps(body).encode("utf-8")
        headers["Content-Type"] = "application/json"
    req = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with _OPENER.open(req, timeout=timeout) as r:
            return Response(r.status, r.read(), r.headers.items(), url)
    except urllib.error.HTTPError as e:
        try:
            content = e.read()
        except Exception:  # noqa: BLE001 - the status is what matters
            content = b""
        return Response(e.code, content, e.headers.items() if e.headers else (), url)
    except (urllib.error.URLError, OSError) as e:
        reason = getattr(e, "reason", e)
        raise ConnectionError(f"cannot reach the maand runtime API at {url}: {reason}") from e


def _own(prefix):
    job = job_name()
    if not job:
        raise ValueError("JOB is not set: not running under maand")
    return f"{prefix}/{job}"


# --- KV --------------------------------------------------------------------------------


def get_store_value(namespace, key):
    return _request("GET", "/kv", {"namespace": namespace, "key": key})


def get_kv_value(namespace, key):
    r = get_store_value(namespace, key)
    r.raise_for_status()
    return r.json()["value"]


def put_job_variable(key, value):
    return _request("PUT", "/kv", {"namespace": _own("vars/job"), "key": key, "value": value})


def delete_job_variable(key):
    return _request("DELETE", "/kv", {"namespace": _own("vars/job"), "key": key})


def put_job_secret(key, value):
    return _request(
        "PUT", "/kv/secret", {"namespace": _own("secrets/job"), "key": key, "value": value}
    )


def delete_job_secret(key):
    return _request("DELETE", "/kv/secret", {"namespace": _own("secrets/job"), "key": key})


def list_job_keys(namespace=None):
    body = {} if namespace is None else {"namespace": namespace}
    return _request("GET", "/kv/keys", body)


def put_rollout_order(order):
    if isinstance(order, (list, tuple)):
        order = ",".join(s for s in (str(x).strip() for x in order) if s)
    return _request(
        "PUT", "/kv", {"namespace": _own("maand/job"), "key": "rollout_order", "value": order}
    )


def get_rollout_order():
    return get_store_value(_own("maand/job"), "rollout_order")


# --- demands and semaphores ------------------------------------------------------------


def list_command_demands():
    return _request("GET", "/demands")


def acquire_semaphore(name, capacity=1, timeout_seconds=600):
    return _request(
        "POST",
        "/semaphore/acquire",
        {"name": name, "capacity": capacity, "timeout_seconds": timeout_seconds},
        timeout=(timeout_seconds if timeout_seconds and timeout_seconds > 0 else 600) + 30,
    )


def release_semaphore(name):
    return _request("POST", "/semaphore/release", {"name": name})


def semaphore_status(name):
    return _request("GET", "/semaphore/status", params={"name": name})


# --- aliases (older scripts) -----------------------------------------------------------

get_allocation_id = allocation_id
get_allocation_ip = allocation_ip
get_allocation_index = allocation_index
get_event = command_event
get_command = command_name
get_job = job_name
kv_get = get_store_value
kv_put = put_job_variable
kv_put_secret = put_job_secret
get_demands = list_command_demands


# --- worker SSH helpers ----------------------------------------------------------------

_CONF_DEFAULTS = {
    "ssh_user": "agent",
    "ssh_key": "worker.key",
    "ssh_port": 22,
    "use_sudo": True,
    "worker_dir": "/opt/worker",
}


def find_bucket_root():
    """First folder holding maand.conf, walking up from the working directory, then from
    this helper's own folder."""
    for start in (Path.cwd(), Path(__file__).resolve().parent):
        for d in (start, *start.parents):
            if (d / "maand.conf").is_file():
                return d
    raise FileNotFoundError("maand.conf not found above the working directory or the helper")


def _simple_conf(text):
    out = {}
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if "=" not in line or line.startswith("["):
            continue
        k, v = (s.strip() for s in line.split("=", 1))
        if v[:1] in ('"', "'") and v[-1:] == v[:1]:
            out[k] = v[1:-1]
        elif v.lower() in ("true", "false"):
            out[k] = v.lower() == "true"
        else:
            try:
                out[k] = int(v)
            except ValueError:
                out[k] = v
    return out


def _load_conf():
    root = find_bucket_root()
    text = (root / "maand.conf").read_text()
    try:
        import tomllib  # Python >= 3.11

        conf = tomllib.loads(text)
    except ImportError:
        conf = _simple_conf(text)
    merged = dict(_CONF_DEFAULTS)
    for k, v in conf.items():
        if v not in ("", None):
            merged[k] = v
    if int(merged.get("ssh_port") or 0) <= 0:
        merged["ssh_port"] = 22
    return root, merged


def load_ssh():
    """``(ssh_user, key_path, use_sudo)`` from maand.conf."""
    root, conf = _load_conf()
    key = str(conf["ssh_key"])
    for cand in (root / "secrets" / key, root / key):
        if cand.is_file():
            return str(conf["ssh_user"]), str(cand), bool(conf["use_sudo"])
    raise FileNotFoundError(f"ssh key {key} not found under {root / 'secrets'} or {root}")


class SSHResult(subprocess.CompletedProcess):
    """``CompletedProcess`` that also offers ``raise_for_status()``."""

    def raise_for_status(self):
        return self.check_returncode()


def run_ssh(worker_ip, remote_cmd, *, timeout=300, check=True, connect_timeout=15):
    user, key, use_sudo = load_ssh()
    _, conf = _load_conf()
    argv = [
        "ssh", "-i", key,
        "-o", "BatchMode=yes",
        "-o", f"ConnectTimeout={int(connect_timeout)}",
        "-p", str(conf["ssh_port"]),
    ]
    known = os.environ.get("MAAND_SSH_KNOWN_HOSTS")
    if known:
        argv += ["-o", f"UserKnownHostsFile={known}", "-o", "StrictHostKeyChecking=accept-new"]
    remote = f"timeout {int(timeout)} {remote_cmd}"
    if use_sudo:
        remote = "sudo -E " + remote
    argv += [f"{user}@{worker_ip}", remote]
    p = subprocess.run(
        argv,
        capture_output=True,
        text=True,
        timeout=timeout + connect_timeout + 30,
    )
    result = SSHResult(p.args, p.returncode, p.stdout, p.stderr)
    if check:
        result.check_returncode()
    return result


def _bucket_id():
    return get_kv_value("maand/bucket", "bucket_id")


def _worker_root():
    _, conf = _load_conf()
    return f"{str(conf['worker_dir']).rstrip('/')}/{_bucket_id()}"


def run_runner_target(target, *, worker_ip=None, job=None, timeout=300):
    """The lifecycle call deploy makes: ``runner.py <bucket_id> <target> --jobs <job>``."""
    worker_ip = worker_ip or allocation_ip()
    job = job or job_name()
    root = _worker_root()
    bucket_id = root.rsplit("/", 1)[-1]
    cmd = " ".join(
        shlex.quote(a)
        for a in ["python3", f"{root}/bin/runner.py", bucket_id, target, "--jobs", job]
    )
    return run_ssh(worker_ip, cmd, timeout=timeout)


def run_make_target(target, *, worker_ip=None, job=None, timeout=300):
    """``make -C <worker_dir>/<bucket_id>/jobs/<job> <target>`` on the worker."""
    worker_ip = worker_ip or allocation_ip()
    job = job or job_name()
    cmd = " ".join(shlex.quote(a) for a in ["make", "-C", f"{_worker_root()}/jobs/{job}", target])
    return run_ssh(worker_ip, cmd, timeout=timeout)
