{{ define "d" -}}
  body  
{{- end -}}
[{{ template "d" }}]