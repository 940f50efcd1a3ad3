# generated for {{ .Job }} {{ .NewVersion }} (alloc {{ .AllocationID }})
export CLUSTER="{{ get "vars/job/api" "cluster_name" }}"
export DB_HOST="{{ get "vars/job/db" "host" }}"
export DB_PASSWORD='{{ get "secrets/job/db" "password" }}'
export FLAGS="{{ range $i, $f := split (get "vars/job/api" "flags") "," }}{{ if $i }} {{ end }}--{{ $f }}{{ end }}"
exec "$@"
