nodes:
{{- range keys "vars/job/api" }}
  - name: {{ . | printf "%q" }}
    upper: {{ upper . }}
{{- else }}
  []
{{- end }}
seq: {{ printf "%03d" .UpdateSeq }}
