{{- define "limits" -}}
LimitNOFILE={{ . }}
{{- end -}}
[Unit]
Description={{ .Job }} on {{ .WorkerIP }}

[Service]
ExecStart={{ .JobPath }}/bin/{{ .Job }} --config {{ .JobPath }}/conf/app.yaml
{{ template "limits" 65536 }}
Environment=LABELS={{ join .Labels "," }}
{{- with getOptional "vars/job/api" "user" }}
User={{ . }}
{{- end }}
