node = {{ .WorkerIP }}
index = {{ get (printf "maand/job/toykv/worker/%s" .WorkerIP) "toykv_allocation_index" }}
peers = {{ get (printf "maand/job/toykv/worker/%s" .WorkerIP) "peer_workers" }}
cluster_token = {{ getSecret "cluster_token" }}
