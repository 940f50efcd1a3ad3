{{- define "a" -}} x {{- end -}}

{{ template "a" }}