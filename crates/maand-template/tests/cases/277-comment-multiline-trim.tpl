a

{{- /*
 multi
 line
*/ -}}

b