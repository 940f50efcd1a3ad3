services:
  api:
    image: example/api:{{ .NewVersion }}
    ports:
      - "{{ .WorkerIP }}:{{ get "maand/bucket" "api_http_port" }}:8080"
