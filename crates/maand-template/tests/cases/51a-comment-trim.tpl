x
{{- /* note */ -}}
y