//! The decision tables of spec 06, row by row.

use super::*;

fn files(pairs: &[(&str, &str)]) -> FileHashes {
    pairs
        .iter()
        .map(|(p, h)| (p.to_string(), h.to_string()))
        .collect()
}

fn state() -> AllocState {
    AllocState {
        worker_ip: "10.0.0.1".into(),
        disabled: false,
        previous_hash: Some("h1".into()),
        previous_files: Some(files(&[("Makefile", "m1"), ("conf.yml", "c1")])),
        current_hash: "h1".into(),
        current_files: files(&[("Makefile", "m1"), ("conf.yml", "c1")]),
        current_version: "1.0".into(),
        new_version: "1.0".into(),
        running: true,
    }
}

fn act(a: &AllocState, p: Policy, globs: &[&str], f: Flags) -> (Action, Vec<String>) {
    let g: Vec<String> = globs.iter().map(|s| s.to_string()).collect();
    let r = decide(a, p, &g, f);
    (r.action, r.matched)
}

const NONE: Flags = Flags {
    force: false,
    sync_only: false,
};

#[test]
fn never_deployed_always_starts() {
    let a = AllocState {
        previous_hash: None,
        previous_files: None,
        ..state()
    };
    for p in [Policy::Always, Policy::Reload, Policy::Never] {
        assert_eq!(act(&a, p, &[], NONE).0, Action::Start);
        assert_eq!(
            act(
                &a,
                p,
                &[],
                Flags {
                    force: true,
                    sync_only: false
                }
            )
            .0,
            Action::Start
        );
    }
    // --sync-only cannot start; the executor turns this into an error.
    assert_eq!(
        act(
            &a,
            Policy::Always,
            &[],
            Flags {
                force: false,
                sync_only: true
            }
        )
        .0,
        Action::Start
    );
}

#[test]
fn unchanged_skips_unless_forced() {
    assert_eq!(act(&state(), Policy::Always, &[], NONE).0, Action::Skip);
    assert_eq!(
        act(
            &state(),
            Policy::Always,
            &[],
            Flags {
                force: true,
                sync_only: false
            }
        )
        .0,
        Action::Restart
    );
    assert_eq!(
        act(
            &state(),
            Policy::Reload,
            &[],
            Flags {
                force: true,
                sync_only: false
            }
        )
        .0,
        Action::Reload
    );
    assert_eq!(
        act(
            &state(),
            Policy::Never,
            &[],
            Flags {
                force: true,
                sync_only: false
            }
        )
        .0,
        Action::Sync
    );
}

#[test]
fn content_change_per_policy() {
    let a = AllocState {
        current_hash: "h2".into(),
        current_files: files(&[("Makefile", "m1"), ("conf.yml", "c2")]),
        ..state()
    };
    assert_eq!(act(&a, Policy::Always, &[], NONE).0, Action::Restart);
    assert_eq!(act(&a, Policy::Never, &[], NONE).0, Action::Sync);
    assert_eq!(act(&a, Policy::Reload, &[], NONE).0, Action::Reload);
    assert_eq!(
        act(&a, Policy::Reload, &["Makefile"], NONE).0,
        Action::Reload
    );
    assert_eq!(
        act(&a, Policy::Reload, &["*.yml"], NONE),
        (Action::Restart, vec!["conf.yml".to_string()])
    );
    // removed and added paths count as changed
    let b = AllocState {
        current_hash: "h3".into(),
        current_files: files(&[("Makefile", "m1"), ("bin/app", "x")]),
        ..state()
    };
    assert_eq!(
        act(&b, Policy::Reload, &["bin/**"], NONE),
        (Action::Restart, vec!["bin/app".to_string()])
    );
    assert_eq!(
        act(&b, Policy::Reload, &["conf.yml"], NONE),
        (Action::Restart, vec!["conf.yml".to_string()])
    );
    // sync-only wins over every policy
    assert_eq!(
        act(
            &a,
            Policy::Always,
            &[],
            Flags {
                force: false,
                sync_only: true
            }
        )
        .0,
        Action::Sync
    );
}

#[test]
fn version_only_change() {
    let a = AllocState {
        new_version: "1.1".into(),
        ..state()
    };
    assert_eq!(act(&a, Policy::Always, &[], NONE).0, Action::Restart);
    assert_eq!(act(&a, Policy::Reload, &["*"], NONE).0, Action::Reload);
    assert_eq!(act(&a, Policy::Never, &[], NONE).0, Action::Sync);
}

#[test]
fn reload_without_promoted_manifest() {
    let a = AllocState {
        previous_files: None,
        current_hash: "h2".into(),
        ..state()
    };
    assert_eq!(act(&a, Policy::Reload, &["*"], NONE).0, Action::Reload);
}

#[test]
fn stopped_allocation_starts_again() {
    let a = AllocState {
        running: false,
        ..state()
    };
    assert_eq!(act(&a, Policy::Always, &[], NONE).0, Action::Start);
    let b = AllocState {
        running: false,
        current_hash: "h2".into(),
        ..state()
    };
    assert_eq!(act(&b, Policy::Never, &[], NONE).0, Action::Start);
}

#[test]
fn disabled_allocations() {
    let d = AllocState {
        disabled: true,
        running: false,
        ..state()
    };
    assert_eq!(act(&d, Policy::Always, &[], NONE).0, Action::Skip);
    let changed = AllocState {
        current_hash: "h2".into(),
        ..d.clone()
    };
    assert_eq!(act(&changed, Policy::Always, &[], NONE).0, Action::Promote);
    let running = AllocState {
        running: true,
        ..changed.clone()
    };
    assert_eq!(
        act(&running, Policy::Always, &[], NONE).0,
        Action::StopPromote
    );
    let fresh = AllocState {
        previous_hash: None,
        ..d
    };
    assert_eq!(act(&fresh, Policy::Always, &[], NONE).0, Action::Promote);
}

#[test]
fn job_rollout_need_and_phases() {
    let plan = JobPlan {
        job: "api".into(),
        deployment_seq: 0,
        allocations: vec![
            decide(&state(), Policy::Always, &[], NONE),
            decide(
                &AllocState {
                    disabled: true,
                    running: false,
                    current_hash: "x".into(),
                    ..state()
                },
                Policy::Always,
                &[],
                NONE,
            ),
        ],
    };
    assert!(!plan.needs_rollout());
    assert!(plan.changes_anything());
    let plan2 = JobPlan {
        allocations: vec![
            decide(
                &AllocState {
                    previous_hash: None,
                    ..state()
                },
                Policy::Always,
                &[],
                NONE,
            ),
            decide(
                &AllocState {
                    current_hash: "x".into(),
                    ..state()
                },
                Policy::Always,
                &[],
                NONE,
            ),
        ],
        ..plan
    };
    assert!(plan2.needs_rollout());
    assert_eq!(plan2.starts().len(), 1);
    assert_eq!(plan2.upgrades().len(), 1);
}

#[test]
fn reconcile_rows() {
    let base = ReconcileInput {
        job: "api".into(),
        worker_ip: "w".into(),
        alloc_id: "id".into(),
        removed: true,
        disabled: false,
        deployed: true,
        running: true,
        worker_in_catalog: true,
    };
    let r = reconcile(std::slice::from_ref(&base));
    assert!(r[0].stop && r[0].cleanup && !r[0].worker_removed);
    let r = reconcile(&[ReconcileInput {
        running: false,
        ..base.clone()
    }]);
    assert!(!r[0].stop && r[0].cleanup);
    let r = reconcile(&[ReconcileInput {
        deployed: false,
        running: false,
        worker_in_catalog: false,
        ..base.clone()
    }]);
    assert!(!r[0].stop && !r[0].cleanup && r[0].worker_removed);
    let r = reconcile(&[ReconcileInput {
        removed: false,
        disabled: true,
        ..base.clone()
    }]);
    assert!(r[0].stop && !r[0].cleanup);
    assert!(reconcile(&[ReconcileInput {
        removed: false,
        disabled: true,
        running: false,
        ..base.clone()
    }])
    .is_empty());
    assert!(reconcile(&[ReconcileInput {
        removed: false,
        ..base
    }])
    .is_empty());
}

#[test]
fn batching() {
    assert_eq!(
        batches(&[1, 2, 3, 4, 5], 2),
        vec![vec![1, 2], vec![3, 4], vec![5]]
    );
    assert_eq!(batches(&[1, 2, 3], 0), vec![vec![1, 2, 3]]);
    assert!(batches::<i32>(&[], 1).is_empty());
}
