# The queue worker: worker.py with its metrics endpoint on this worker's address.
ADDR := {{ .WorkerIP }}
PORT := {{ get "maand/bucket" "worker_metrics_port" }}
RUNNING = [ -f data/pid ] && kill -0 $$(cat data/pid) 2>/dev/null

start:
	@mkdir -p data logs
	@if $(RUNNING); then echo "worker already running"; exit 0; fi; \
	nohup python3 worker.py $(ADDR) $(PORT) < /dev/null >> logs/worker.log 2>&1 & echo $$! > data/pid; \
	echo "worker $(NEW_VERSION) serving metrics on $(ADDR):$(PORT)"

stop:
	@if $(RUNNING); then \
	  pid=$$(cat data/pid); kill $$pid; \
	  for i in $$(seq 1 40); do kill -0 $$pid 2>/dev/null || break; sleep 0.25; done; \
	fi; rm -f data/pid; echo "worker stopped"

restart: stop start

reload: restart

status:
	@if $(RUNNING); then echo "worker running (pid $$(cat data/pid)) on $(ADDR):$(PORT)"; \
	else echo "worker not running"; exit 1; fi
