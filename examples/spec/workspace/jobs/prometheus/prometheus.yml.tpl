global:
  scrape_interval: 15s
scrape_configs:
  - job_name: prometheus
    static_configs:
      - targets: ['{{ .WorkerIP }}:9090']
{{ scrapeConfigs }}

{{ ruleFiles }}
