"""A stand-in API: /healthz and Prometheus text-format /metrics on one port.

Usage: python3 server.py <bind address> <port> <version>
"""
import http.server
import sys
import threading
import time

ADDR, PORT, VERSION = sys.argv[1], int(sys.argv[2]), sys.argv[3]
STARTED = time.time()
lock = threading.Lock()
requests = {"/healthz": 0, "/metrics": 0, "other": 0}


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        path = self.path if self.path in requests else "other"
        with lock:
            requests[path] += 1
        if self.path == "/healthz":
            self.reply(200, "text/plain", "ok\n")
        elif self.path == "/metrics":
            self.reply(200, "text/plain; version=0.0.4", self.metrics())
        else:
            self.reply(200, "text/plain", f"api {VERSION}\n")

    def metrics(self):
        lines = [
            "# HELP api_build_info Build of the running API.",
            "# TYPE api_build_info gauge",
            f'api_build_info{{version="{VERSION}"}} 1',
            "# HELP api_uptime_seconds Seconds since the API started.",
            "# TYPE api_uptime_seconds gauge",
            f"api_uptime_seconds {time.time() - STARTED:.3f}",
            "# HELP api_requests_total HTTP requests served, by path.",
            "# TYPE api_requests_total counter",
        ]
        with lock:
            for path, n in sorted(requests.items()):
                lines.append(f'api_requests_total{{path="{path}"}} {n}')
        return "\n".join(lines) + "\n"

    def reply(self, code, ctype, body):
        data = body.encode()
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, fmt, *args):
        pass


http.server.ThreadingHTTPServer((ADDR, PORT), Handler).serve_forever()
