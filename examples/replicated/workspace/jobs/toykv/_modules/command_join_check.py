"""after_allocation_started: every node of the batch must serve the cluster's token."""
import os
import sys
import time
import urllib.request

import maand

token = maand.get_kv_value("secrets/job/toykv", "cluster_token")
port = maand.get_kv_value("maand/bucket", "toykv_http_port")
me = maand.allocation_ip()
for attempt in range(20):
    try:
        conf = urllib.request.urlopen(f"http://{me}:{port}/node.conf", timeout=2).read().decode()
        if f"cluster_token = {token}" in conf:
            print(f"{me} joined (batch {os.environ.get('BATCH_INDEX')}/{os.environ.get('BATCH_COUNT')}, order {os.environ.get('ROLLOUT_ORDER_SOURCE')})")
            sys.exit(0)
    except OSError:
        pass
    time.sleep(0.5)
print(f"{me} did not join the cluster", file=sys.stderr)
sys.exit(1)
