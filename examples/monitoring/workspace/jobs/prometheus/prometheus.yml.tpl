# Rendered by maand for {{ .WorkerIP }}: the scrape configs and rule files of every job that
# ships _prometheus/ are filled in at deploy.
global:
  scrape_interval: 5s
  evaluation_interval: 5s
scrape_configs:
  - job_name: prometheus
    static_configs:
      - targets: ['{{ .WorkerIP }}:{{ get "maand/bucket" "prometheus_port_http" }}']
{{ scrapeConfigs }}

{{ ruleFiles }}
