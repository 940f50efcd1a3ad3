{{- $mem := int (get "vars/job/api" "memory") -}}
listen_addresses = '{{ .WorkerIP }}'
shared_buffers = {{ div $mem 4 }}MB
effective_cache_size = {{ div (mul $mem 3) 4 }}MB
work_mem = {{ max 4 (div $mem 256) }}MB
max_connections = {{ min 200 (mul 10 (len .Labels)) }}
password = '{{ getSecret "db_password" }}'
{{ if ne (getOptional "vars/job/api" "ssl") "" -}}
ssl = on
{{- else -}}
ssl = off
{{- end }}
