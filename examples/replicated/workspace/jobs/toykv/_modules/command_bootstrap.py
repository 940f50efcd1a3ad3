"""pre_deploy: bootstrap the cluster token once, then order the rollout leader-last."""
import secrets

import maand

JOB_NS = "maand/job/toykv"

if maand.allocation_index() == "0":
    if maand.get_store_value(f"secrets/job/toykv", "cluster_token").status_code == 404:
        maand.put_job_secret("cluster_token", secrets.token_hex(16)).raise_for_status()
        print("bootstrapped cluster_token")
    workers = [w for w in maand.get_kv_value(JOB_NS, "workers").split(",") if w]
    if workers:
        leader, followers = workers[0], workers[1:]
        maand.put_rollout_order(followers + [leader]).raise_for_status()
        print(f"rollout order: followers {','.join(followers) or '-'}, leader {leader} last")
