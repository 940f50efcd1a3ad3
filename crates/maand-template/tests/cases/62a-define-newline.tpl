{{ define "x" }}X{{ end }}
body