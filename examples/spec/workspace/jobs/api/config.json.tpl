{
  "listen": "{{ .WorkerIP }}:{{ get "maand/bucket" "api_http_port" }}",
  "metrics": "{{ .WorkerIP }}:{{ get "maand/bucket" "api_metrics_port" }}",
  "database": "{{ get "vars/job/database" "cluster_name" }}",
  "allocation_index": {{ get (printf "maand/job/api/worker/%s" .WorkerIP) "api_allocation_index" }},
  "peers": "{{ get (printf "maand/job/api/worker/%s" .WorkerIP) "peer_workers" }}",
  "log_level": "{{ get "vars/bucket/job/api" "log_level" }}",
  "environment": "{{ get "vars/bucket" "environment" }}"
}
