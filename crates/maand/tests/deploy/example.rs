//! `examples/replicated`: the hooks-driven toy cluster deploys and upgrades leader-last
//! with a join check per batch and a secret bootstrapped by its `pre_deploy` hook.

use super::harness::{copy_dir, example, TestBucket};

#[test]
fn replicated_example_rolls_out_leader_last() {
    let Some(b) = TestBucket::new("replicated_example_rolls_out_leader_last", 3) else {
        return;
    };
    copy_dir(
        &example("replicated/workspace/jobs/toykv"),
        &b.path("workspace/jobs/toykv"),
    );
    let first = b.build_deploy().ok();
    first
        .has("bootstrapped cluster_token")
        .has("health check passed: toykv");
    for i in 0..3 {
        first.has(&format!("{} joined", b.host(i)));
    }
    // The token rendered into every node's config is the hook's secret.
    let token = b
        .maand(&[
            "cat",
            "kv",
            "get",
            "secrets/job/toykv",
            "cluster_token",
            "--reveal",
        ])
        .ok();
    let token = token
        .all()
        .lines()
        .find_map(|l| l.strip_prefix("value: "))
        .unwrap()
        .to_string();
    for i in 0..3 {
        assert!(b
            .worker_file(i, "jobs/toykv/node.conf")
            .contains(&format!("cluster_token = {token}")));
    }

    // An upgrade restarts the followers first and the leader (first worker) last, one per
    // batch, each batch joined and healthy before the next.
    let conf = b.path("workspace/jobs/toykv/node.conf.tpl");
    let mut text = std::fs::read_to_string(&conf).unwrap();
    text.push_str("# v2\n");
    std::fs::write(&conf, text).unwrap();
    let up = b.build_deploy().ok();
    let order: Vec<usize> = (0..3)
        .map(|i| {
            up.all()
                .find(&format!("\"toykv\": {} restart", b.host(i)))
                .expect("restart line")
        })
        .collect();
    assert!(
        order[1] < order[2] && order[2] < order[0],
        "leader last: {}",
        up.all()
    );
    up.has("(batch 3/3)").has("order kv");
    // The secret was bootstrapped once: the upgrade kept it.
    up.lacks("bootstrapped cluster_token");
}
