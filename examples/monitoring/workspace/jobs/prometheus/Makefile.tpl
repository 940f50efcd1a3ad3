# Debian's prometheus (apt-get install prometheus), bound to this worker's address.
# Runtime state lives in data/ (pidfile, TSDB) and logs/, which deploy never overwrites.
ADDR := {{ .WorkerIP }}
PORT := {{ get "maand/bucket" "prometheus_port_http" }}
URL := http://$(ADDR):$(PORT)
PROMETHEUS := /usr/bin/prometheus
FLAGS := --config.file=prometheus.yml --storage.tsdb.path=data/tsdb \
	--web.listen-address=$(ADDR):$(PORT) --web.external-url=$(URL) \
	--web.enable-lifecycle --web.enable-remote-write-receiver \
	--web.console.templates=consoles --web.console.libraries=consoles
# python3 instead of curl: workers are not guaranteed to have curl.
HTTP = python3 -c 'import sys, urllib.request as u; u.urlopen(u.Request(sys.argv[1], method=sys.argv[2]), timeout=10)'
RUNNING = [ -f data/pid ] && kill -0 $$(cat data/pid) 2>/dev/null

start:
	@mkdir -p data/tsdb logs consoles
	@if $(RUNNING); then echo "prometheus already running (pid $$(cat data/pid))"; exit 0; fi; \
	nohup $(PROMETHEUS) $(FLAGS) < /dev/null >> logs/prometheus.log 2>&1 & echo $$! > data/pid; \
	for i in $$(seq 1 60); do \
	  if $(HTTP) $(URL)/-/ready GET 2>/dev/null; then echo "prometheus $(NEW_VERSION) ready on $(URL) (pid $$(cat data/pid))"; exit 0; fi; \
	  if ! $(RUNNING); then echo "prometheus exited, see logs/prometheus.log" >&2; tail -n 20 logs/prometheus.log >&2; exit 1; fi; \
	  sleep 0.5; \
	done; echo "prometheus not ready after 30 s" >&2; exit 1

stop:
	@if $(RUNNING); then \
	  pid=$$(cat data/pid); kill $$pid; \
	  for i in $$(seq 1 40); do kill -0 $$pid 2>/dev/null || break; sleep 0.25; done; \
	  kill -9 $$pid 2>/dev/null || true; \
	fi; rm -f data/pid; echo "prometheus stopped"

restart: stop start

# Re-reads prometheus.yml, rules/ and consoles/ without a restart (the PID stays).
reload:
	@if $(RUNNING); then $(HTTP) $(URL)/-/reload POST && echo "prometheus reloaded (pid $$(cat data/pid))"; \
	else $(MAKE) --no-print-directory start; fi

status:
	@if $(RUNNING); then echo "prometheus running (pid $$(cat data/pid)) on $(URL)"; \
	else echo "prometheus not running"; exit 1; fi
