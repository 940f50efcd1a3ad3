<!doctype html>
<title>maand demo</title>
<p>hello from {{ .WorkerIP }} (job {{ .Job }} {{ .NewVersion }}, environment {{ get "vars/bucket" "environment" }})</p>
<p>peers: {{ get (printf "maand/job/web/worker/%s" .WorkerIP) "peer_workers" }}</p>
