line1
{{ if true }}