hosts:
{{- range $ip := split "h1,h2" "," }}
  - {{ $ip }}:2181
{{- end }}
done