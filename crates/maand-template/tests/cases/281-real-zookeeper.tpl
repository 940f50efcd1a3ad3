{{- $peers := split (printf "%s,%s" .WorkerIP (get (printf "maand/job/%s/worker/%s" .Job .WorkerIP) "peer_workers")) "," -}}
tickTime=2000
dataDir={{ .JobPath }}/data
clientPort={{ add 2000 181 }}
{{- range $i, $ip := $peers }}
server.{{ add $i 1 }}={{ $ip }}:2888:3888
{{- end }}
myid={{ if eq .WorkerIP "10.0.0.1" }}1{{ else }}2{{ end }}
