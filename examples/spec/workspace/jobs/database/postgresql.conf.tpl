listen_addresses = '{{ .WorkerIP }}'
port = {{ get "maand/bucket" "database_port" }}
max_connections = {{ get "vars/job/database" "max_connections" }}
cluster_name = '{{ get "vars/job/database" "cluster_name" }}'
