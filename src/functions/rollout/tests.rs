use super::*;

fn code(v: &str, cid: &str) -> Code {
    Code {
        version: v.into(),
        cid: cid.into(),
        blake3: format!("b3-{cid}"),
    }
}

fn desired(c: &Code, steps: &[u8]) -> Desired {
    Desired {
        code: c.clone(),
        config: "cfg".into(),
        steps: steps.to_vec(),
        gate: Gate {
            interval_ms: 1000,
            threshold: 2,
        },
        paused: false,
    }
}

/// `n` nodes each running `c` (or nothing).
fn running(n: usize, c: Option<&Code>) -> Vec<NodeObs> {
    (0..n)
        .map(|i| NodeObs {
            node: format!("node-{i}"),
            running: Ok(c.cloned()),
        })
        .collect()
}

/// Applies a plan's puts as if they all succeeded, and its checks with `healthy(node)`.
fn execute(
    p: &Plan,
    d: &Desired,
    nodes: &mut [NodeObs],
    now: i64,
    healthy: &dyn Fn(&str, &Code) -> bool,
) -> RolloutState {
    let mut s = p.state.clone();
    let mut notes = Vec::new();
    for c in &p.calls {
        if let Call::Put { node, code } = c {
            record_put(&mut s, node, code, &d.config, Ok(()), now, &mut notes);
            for n in nodes.iter_mut() {
                if &n.node == node {
                    n.running = Ok(Some(code.clone()));
                }
            }
        }
    }
    for c in &p.calls {
        if let Call::Check { node } = c {
            let runs = nodes
                .iter()
                .find(|n| &n.node == node)
                .and_then(|n| n.running.clone().ok().flatten());
            let ok = runs.is_some_and(|r| healthy(node, &r));
            record_check(
                &mut s,
                node,
                if ok { Ok(()) } else { Err("503".into()) },
                now,
            );
        }
    }
    s
}

/// Runs the planner until nothing is left to do; returns the final state, every note, and
/// how many ms it took (checks every interval).
fn drive(
    start: &RolloutState,
    d: &Desired,
    nodes: &mut [NodeObs],
    healthy: &dyn Fn(&str, &Code) -> bool,
) -> (RolloutState, Vec<Note>, i64) {
    let mut s = start.clone();
    let mut notes = Vec::new();
    let mut now = 0;
    for _ in 0..200 {
        let p = plan(&s, d, nodes, now);
        notes.extend(p.notes.clone());
        let idle = p.calls.is_empty();
        s = execute(&p, d, nodes, now, healthy);
        if idle {
            match p.next_check_ms {
                Some(t) if t > now => now = t,
                Some(_) => {}
                None => return (s, notes, now),
            }
        }
    }
    panic!("the rollout never settled: {s:#?}");
}

fn reasons(notes: &[Note]) -> Vec<&'static str> {
    notes.iter().map(|n| n.reason).collect()
}

#[test]
fn steps_round_up_and_move_at_least_one_node() {
    assert_eq!(nodes_for_step(4, 10), 1);
    assert_eq!(nodes_for_step(4, 50), 2);
    assert_eq!(nodes_for_step(4, 51), 3);
    assert_eq!(nodes_for_step(4, 100), 4);
    assert_eq!(nodes_for_step(1, 10), 1);
    assert_eq!(nodes_for_step(3, 1), 1);
    assert_eq!(nodes_for_step(0, 50), 0);
}

#[test]
fn nodes_sort_naturally() {
    let mut v = vec!["node-10", "node-2", "node-1"];
    v.sort_by(|a, b| node_order(a, b));
    assert_eq!(v, ["node-1", "node-2", "node-10"]);
}

#[test]
fn the_first_version_goes_everywhere_at_once_behind_the_gate() {
    let v1 = code("1", "a");
    let d = desired(&v1, &[10, 50, 100]);
    let mut nodes = running(4, None);
    let p = plan(&RolloutState::default(), &d, &nodes, 0);
    let puts = p
        .calls
        .iter()
        .filter(|c| matches!(c, Call::Put { .. }))
        .count();
    assert_eq!(puts, 4, "{:?}", p.calls);
    let (s, notes, took) = drive(&RolloutState::default(), &d, &mut nodes, &|_, _| true);
    assert_eq!(s.stable, Some(v1));
    assert!(s.target.is_none());
    assert_eq!(
        reasons(&notes),
        ["RolloutStarted", "RolloutStep", "RolloutComplete"]
    );
    // One passed check per node clears a first version.
    assert_eq!(took, 0);
}

fn stable_on(n: usize, c: &Code) -> (RolloutState, Vec<NodeObs>) {
    let mut nodes = running(n, None);
    let d = desired(c, &[100]);
    let (s, _, _) = drive(&RolloutState::default(), &d, &mut nodes, &|_, _| true);
    (s, nodes)
}

#[test]
fn a_canary_moves_its_share_per_step_and_promotes() {
    let v1 = code("1", "a");
    let v2 = code("5", "b");
    let (s, mut nodes) = stable_on(4, &v1);
    let d = desired(&v2, &[10, 50, 100]);
    // Step 1: one node moves, the others keep v1.
    let p = plan(&s, &d, &nodes, 0);
    assert_eq!(p.state.moved, ["node-0"]);
    assert_eq!(
        p.calls,
        [Call::Put {
            node: "node-0".into(),
            code: v2.clone()
        }]
    );
    let (s2, notes, took) = drive(&s, &d, &mut nodes, &|_, _| true);
    assert_eq!(s2.stable, Some(v2.clone()));
    assert_eq!(s2.previous, Some(v1));
    assert_eq!(
        reasons(&notes),
        [
            "RolloutStarted",
            "RolloutStep",
            "RolloutStep",
            "RolloutStep",
            "RolloutComplete"
        ]
    );
    // Three steps, each a window of two checks one interval apart.
    assert_eq!(took, 3 * 1000);
    assert!(nodes.iter().all(|n| n.running == Ok(Some(v2.clone()))));
}

#[test]
fn a_canary_failing_at_fifty_percent_rolls_every_node_back() {
    let v1 = code("1", "a");
    let v2 = code("5", "b");
    let (s, mut nodes) = stable_on(4, &v1);
    let d = desired(&v2, &[10, 50, 100]);
    // v2 is healthy on node-0 only: step 2 (node-0, node-1) fails on node-1.
    let healthy = |node: &str, c: &Code| c.version == "1" || node == "node-0";
    let (s2, notes, _) = drive(&s, &d, &mut nodes, &healthy);
    assert_eq!(s2.stable, Some(v1.clone()));
    assert!(s2.target.is_none());
    let f = s2.failed.clone().expect("failed");
    assert_eq!(f.code, v2);
    assert_eq!(f.reason, "RolloutFailed");
    assert!(
        f.message.contains("node-1") && f.message.contains("step 2/3 (50%)"),
        "{}",
        f.message
    );
    assert_eq!(reasons(&notes).last(), Some(&"RolloutFailed"));
    assert!(notes.last().unwrap().warning);
    assert!(nodes.iter().all(|n| n.running == Ok(Some(v1.clone()))));
    // The failed version is not tried again while the spec names it.
    let p = plan(&s2, &d, &nodes, 100_000);
    assert!(p.calls.is_empty(), "{:?}", p.calls);
    assert!(p.notes.is_empty());
}

#[test]
fn a_hash_mismatch_fails_the_rollout_at_once_and_keeps_the_old_version() {
    let v1 = code("1", "a");
    let v2 = code("5", "b");
    let (s, nodes) = stable_on(4, &v1);
    let d = desired(&v2, &[10, 50, 100]);
    let p = plan(&s, &d, &nodes, 0);
    let mut st = p.state.clone();
    let mut notes = Vec::new();
    record_put(
        &mut st,
        "node-0",
        &v2,
        "cfg",
        Err((true, "blake3 is not b3-b".into())),
        0,
        &mut notes,
    );
    assert_eq!(st.failed.as_ref().unwrap().reason, "HashMismatch");
    assert!(st.target.is_none() && st.moved.is_empty());
    assert_eq!(st.stable, Some(v1));
    assert_eq!(notes[0].reason, "HashMismatch");
    // node-0 still runs v1 (the node refused v2): nothing to do.
    assert!(plan(&st, &d, &nodes, 10).calls.is_empty());
}

#[test]
fn fetch_failures_count_as_failed_checks() {
    let v1 = code("1", "a");
    let v2 = code("5", "b");
    let (s, nodes) = stable_on(2, &v1);
    let d = desired(&v2, &[100]);
    let mut st = plan(&s, &d, &nodes, 0).state;
    let mut notes = Vec::new();
    for t in 0..2 {
        record_put(
            &mut st,
            "node-0",
            &v2,
            "cfg",
            Err((false, "FetchFailed".into())),
            t,
            &mut notes,
        );
    }
    let p = plan(&st, &d, &nodes, 5);
    assert_eq!(p.state.failed.as_ref().unwrap().reason, "RolloutFailed");
    assert!(p
        .state
        .failed
        .as_ref()
        .unwrap()
        .message
        .contains("FetchFailed"));
}

#[test]
fn a_config_change_is_pushed_to_every_node_without_a_rollout() {
    let v1 = code("1", "a");
    let (s, nodes) = stable_on(4, &v1);
    let mut d = desired(&v1, &[10, 50, 100]);
    d.config = "cfg2".into();
    let p = plan(&s, &d, &nodes, 0);
    assert!(p.notes.is_empty());
    assert_eq!(p.calls.len(), 4);
    assert!(p
        .calls
        .iter()
        .all(|c| matches!(c, Call::Put { code, .. } if *code == v1)));
    assert!(p.state.target.is_none());
}

#[test]
fn pause_holds_the_step_and_resume_goes_on() {
    let v1 = code("1", "a");
    let v2 = code("5", "b");
    let (s, mut nodes) = stable_on(4, &v1);
    let mut d = desired(&v2, &[10, 50, 100]);
    d.paused = true;
    // Paused before it starts: the target is set, no node moves.
    let p = plan(&s, &d, &nodes, 0);
    assert!(p.state.moved.is_empty());
    assert!(p.calls.is_empty());
    d.paused = false;
    let p = plan(&p.state, &d, &nodes, 0);
    assert_eq!(p.state.moved, ["node-0"]);
    let st = execute(&p, &d, &mut nodes, 0, &|_, _| true);
    d.paused = true;
    // Checks go on while paused, but the step does not advance.
    let mut st2 = st.clone();
    for t in [0, 1000, 2000, 3000] {
        let p = plan(&st2, &d, &nodes, t);
        st2 = execute(&p, &d, &mut nodes, t, &|_, _| true);
    }
    assert_eq!(st2.step, 0);
    assert_eq!(st2.moved, ["node-0"]);
    d.paused = false;
    let (done, _, _) = drive(&st2, &d, &mut nodes, &|_, _| true);
    assert_eq!(done.stable, Some(v2));
}

#[test]
fn the_spec_back_at_the_stable_code_aborts_the_rollout() {
    let v1 = code("1", "a");
    let v2 = code("5", "b");
    let (s, mut nodes) = stable_on(4, &v1);
    let d2 = desired(&v2, &[50, 100]);
    let p = plan(&s, &d2, &nodes, 0);
    let st = execute(&p, &d2, &mut nodes, 0, &|_, _| true);
    assert_eq!(st.moved.len(), 2);
    let d1 = desired(&v1, &[50, 100]);
    let p = plan(&st, &d1, &nodes, 10);
    assert_eq!(reasons(&p.notes), ["RolloutAborted"]);
    assert!(p.state.target.is_none());
    let back: Vec<_> = p
        .calls
        .iter()
        .filter_map(|c| match c {
            Call::Put { node, code } if *code == v1 => Some(node.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(back, ["node-0", "node-1"]);
}

#[test]
fn a_new_node_gets_the_stable_version_and_a_gone_node_is_forgotten() {
    let v1 = code("1", "a");
    let (s, mut nodes) = stable_on(2, &v1);
    nodes.push(NodeObs {
        node: "node-2".into(),
        running: Ok(None),
    });
    let d = desired(&v1, &[100]);
    let p = plan(&s, &d, &nodes, 0);
    assert_eq!(
        p.calls,
        [Call::Put {
            node: "node-2".into(),
            code: v1.clone()
        }]
    );
    let p = plan(&s, &d, &nodes[1..], 0);
    assert!(!p.state.nodes.contains_key("node-0"));
}

#[test]
fn an_unreachable_moved_node_fails_its_checks() {
    let v1 = code("1", "a");
    let v2 = code("5", "b");
    let (s, mut nodes) = stable_on(2, &v1);
    nodes[0].running = Err("connection refused".into());
    let d = desired(&v2, &[50, 100]);
    let p = plan(&s, &d, &nodes, 0);
    assert_eq!(p.state.moved, ["node-0"]);
    assert!(p.calls.contains(&Call::Check {
        node: "node-0".into()
    }));
    let (st, notes, _) = drive(&s, &d, &mut nodes, &|_, _| true);
    assert_eq!(st.failed.unwrap().reason, "RolloutFailed");
    assert_eq!(reasons(&notes).last(), Some(&"RolloutFailed"));
}

#[test]
fn versions_keep_their_label_and_new_code_takes_the_generation() {
    let mut s = RolloutState {
        stable: Some(code("3", "a")),
        ..RolloutState::default()
    };
    assert_eq!(version_for(&s, "a", "b3-a", 9), "3");
    assert_eq!(version_for(&s, "z", "b3-z", 9), "9");
    s.failed = Some(Failed {
        code: code("7", "f"),
        reason: "RolloutFailed".into(),
        message: String::new(),
    });
    assert_eq!(version_for(&s, "f", "b3-f", 9), "7");
}
