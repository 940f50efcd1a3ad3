PORT := {{ get "maand/bucket" "toykv_http_port" }}
ADDR := {{ .WorkerIP }}

start:
	@mkdir -p data/www logs
	@cp node.conf data/www/node.conf
	@nohup python3 -m http.server --bind $(ADDR) --directory data/www $(PORT) > logs/server.log 2>&1 & echo $$! > data/pid
	@echo "toykv $(NEW_VERSION) node $(ADDR):$(PORT) started"

stop:
	@if [ -f data/pid ]; then kill $$(cat data/pid) 2>/dev/null || true; rm -f data/pid; fi
	@echo "toykv stopped"

restart: stop start

reload: restart

status:
	@if [ -f data/pid ] && kill -0 $$(cat data/pid) 2>/dev/null; then echo "toykv running on $(ADDR):$(PORT)"; else echo "toykv not running"; exit 1; fi
