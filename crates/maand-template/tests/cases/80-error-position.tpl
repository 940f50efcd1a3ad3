a: 1
b: 2
x: {{ get "vars/job/api" "nope" }}
