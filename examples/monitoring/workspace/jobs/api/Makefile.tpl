# The API: server.py on this worker's address. certs/tls.crt and certs/tls.key are the
# certificate maand issues for this allocation (manifest "certs").
ADDR := {{ .WorkerIP }}
PORT := {{ get "maand/bucket" "api_http_port" }}
RUNNING = [ -f data/pid ] && kill -0 $$(cat data/pid) 2>/dev/null

start:
	@mkdir -p data logs
	@if $(RUNNING); then echo "api already running"; exit 0; fi; \
	nohup python3 server.py $(ADDR) $(PORT) $(NEW_VERSION) < /dev/null >> logs/server.log 2>&1 & echo $$! > data/pid; \
	echo "api $(NEW_VERSION) listening on $(ADDR):$(PORT)"

stop:
	@if $(RUNNING); then \
	  pid=$$(cat data/pid); kill $$pid; \
	  for i in $$(seq 1 40); do kill -0 $$pid 2>/dev/null || break; sleep 0.25; done; \
	fi; rm -f data/pid; echo "api stopped"

restart: stop start

reload: restart

status:
	@if $(RUNNING); then echo "api running (pid $$(cat data/pid)) on $(ADDR):$(PORT)"; \
	else echo "api not running"; exit 1; fi
