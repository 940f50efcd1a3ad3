{{/* a
b */}}
line3 {{ .Nope }}