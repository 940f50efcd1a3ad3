{{ define "t" }}
  {{ .Nope }}{{ end }}
{{ template "t" . }}