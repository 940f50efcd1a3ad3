{{ define "mem" -}}
{{- $mb := int . -}}
{{- if ge $mb 1024 -}}{{ div $mb 1024 }}GB{{- else -}}{{ $mb }}MB{{- end -}}
{{- end }}
{{- $m := int (get "vars/job/api" "memory") -}}
shared = {{ template "mem" (div $m 4) }}
cache = {{ template "mem" (div (mul $m 3) 4) }}
