global:
  scrape_interval: 15s
{{ ruleFiles -}}
scrape_configs:
  - job_name: self
    static_configs:
      - targets: ['{{ .WorkerIP }}:9090']
{{- scrapeConfigs }}
