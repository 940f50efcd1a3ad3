"""A stand-in queue worker: pretends to process jobs and exports Prometheus text-format
metrics on /metrics.

Usage: python3 worker.py <bind address> <port>
"""
import http.server
import random
import sys
import threading
import time

ADDR, PORT = sys.argv[1], int(sys.argv[2])
lock = threading.Lock()
state = {"processed": 0, "failed": 0, "depth": 0}


def work():
    while True:
        time.sleep(1)
        with lock:
            state["depth"] = max(0, state["depth"] + random.randint(-3, 3))
            state["processed"] += random.randint(0, 5)
            state["failed"] += 1 if random.random() < 0.05 else 0


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path != "/metrics":
            self.send_error(404)
            return
        with lock:
            body = "\n".join([
                "# HELP worker_queue_depth Jobs waiting in the queue.",
                "# TYPE worker_queue_depth gauge",
                f"worker_queue_depth {state['depth']}",
                "# HELP worker_jobs_total Jobs finished, by result.",
                "# TYPE worker_jobs_total counter",
                f'worker_jobs_total{{result="ok"}} {state["processed"]}',
                f'worker_jobs_total{{result="failed"}} {state["failed"]}',
            ]) + "\n"
        data = body.encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; version=0.0.4")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, fmt, *args):
        pass


threading.Thread(target=work, daemon=True).start()
http.server.ThreadingHTTPServer((ADDR, PORT), Handler).serve_forever()
