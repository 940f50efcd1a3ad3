PORT := {{ get "maand/bucket" "web_http_port" }}
ADDR := {{ .WorkerIP }}

start:
	@mkdir -p data logs
	@nohup python3 -m http.server --bind $(ADDR) --directory www $(PORT) > logs/server.log 2>&1 & echo $$! > data/pid
	@echo "web $(NEW_VERSION) listening on $(ADDR):$(PORT)"

stop:
	@if [ -f data/pid ]; then kill $$(cat data/pid) 2>/dev/null || true; rm -f data/pid; fi
	@echo "web stopped"

restart: stop start

reload: restart

status:
	@if [ -f data/pid ] && kill -0 $$(cat data/pid) 2>/dev/null; then echo "web running (pid $$(cat data/pid)) on $(ADDR):$(PORT)"; else echo "web not running"; exit 1; fi
