{{
if
true
}}a{{
end
}}{{- 
range split "p" ","
-}}
[{{.}}]
{{- end}}