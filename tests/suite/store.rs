//! One store suite, run against SQLite and against a real PostgreSQL.

use std::sync::Arc;
use std::time::{Duration, Instant};

use af_operator::spec::load::load_str;
use af_operator::spec::{Condition, ConditionStatus, Kind, ResourceInput, ResourceKey, Status};
use af_operator::store::{
    elect, ApplyOutcome, ChangeCursor, ChangeFeed, ChangeOp, Deletion, DeploymentIntent, EventType,
    IntentState, IntentStore, LeaderConfig, LeaderLease, ListQuery, NewEvent, Store, StoreError,
};

use crate::common::TestDb;

fn agent(name: &str, project: &str, image: &str, labels: &str) -> ResourceInput {
    let text = format!(
        "apiVersion: alternatefutures.ai/v1alpha1
kind: Agent
metadata: {{name: {name}, project: {project}, labels: {{{labels}}}}}
spec:
  image: {image}
  port: 8080
  resources: {{cpu: 0.5, memory: 512Mi}}
"
    );
    load_str("t.yaml", &text).unwrap().remove(0).input
}

async fn run_suite(store: Arc<dyn Store>) {
    let a = agent("api", "defarm", "app:1", "team: core");
    let key = a.key.clone();

    // Create, unchanged, configured (spec), configured (labels only).
    let r = store.apply(std::slice::from_ref(&a)).await.unwrap();
    assert_eq!((r[0].outcome, r[0].generation), (ApplyOutcome::Created, 1));
    let rv1 = r[0].resource_version;
    let r = store.apply(std::slice::from_ref(&a)).await.unwrap();
    assert_eq!(r[0].outcome, ApplyOutcome::Unchanged);
    assert_eq!(
        r[0].resource_version, rv1,
        "an unchanged apply writes nothing"
    );
    let a2 = agent("api", "defarm", "app:2", "team: core");
    let r = store.apply(&[a2]).await.unwrap();
    assert_eq!(
        (r[0].outcome, r[0].generation),
        (ApplyOutcome::Configured, 2)
    );
    assert!(r[0].resource_version > rv1);
    let a3 = agent("api", "defarm", "app:2", "team: edge");
    let r = store.apply(&[a3]).await.unwrap();
    assert_eq!(
        (r[0].outcome, r[0].generation),
        (ApplyOutcome::Configured, 2)
    );

    let got = store.get(&key).await.unwrap().unwrap();
    assert_eq!(got.spec["image"], "app:2");
    assert_eq!(got.metadata.labels["team"], "edge");
    assert_eq!(got.metadata.generation, 2);
    assert!(!got.metadata.uid.is_empty());

    // Listing by kind, project and labels.
    store
        .apply(&[
            agent("worker", "defarm", "w:1", "team: core"),
            agent("web", "other", "x:1", "team: core"),
        ])
        .await
        .unwrap();
    let q = |project: Option<&str>, sel: &str| ListQuery {
        kind: Some(Kind::Agent),
        project: project.map(String::from),
        selector: sel.parse().unwrap(),
        ..Default::default()
    };
    let names = |v: Vec<af_operator::spec::Resource>| {
        v.into_iter().map(|r| r.metadata.name).collect::<Vec<_>>()
    };
    assert_eq!(
        names(store.list(&q(Some("defarm"), "")).await.unwrap()),
        ["api", "worker"]
    );
    assert_eq!(
        names(store.list(&q(None, "team=core")).await.unwrap()),
        ["worker", "web"]
    );
    assert_eq!(
        names(store.list(&q(Some("defarm"), "team!=core")).await.unwrap()),
        ["api"]
    );
    let other_kind = ListQuery {
        kind: Some(Kind::Site),
        ..Default::default()
    };
    assert!(store.list(&other_kind).await.unwrap().is_empty());

    // Status writes: optimistic concurrency; the generation does not move.
    let cur = store.get(&key).await.unwrap().unwrap();
    let status = Status {
        observed_generation: Some(2),
        conditions: vec![Condition {
            type_: "Ready".into(),
            status: ConditionStatus::True,
            reason: "LeaseActive".into(),
            message: "serving".into(),
            last_transition_time: "2026-11-22T00:00:00Z".into(),
            observed_generation: 2,
        }],
        facts: serde_json::json!({"dseq": 42}).as_object().unwrap().clone(),
    };
    let stale = store
        .write_status(&key, cur.metadata.resource_version - 1, &status)
        .await;
    assert!(
        matches!(stale, Err(StoreError::Conflict { .. })),
        "{stale:?}"
    );
    let written = store
        .write_status(&key, cur.metadata.resource_version, &status)
        .await
        .unwrap();
    assert!(written.metadata.resource_version > cur.metadata.resource_version);
    let got = store.get(&key).await.unwrap().unwrap();
    assert_eq!(got.status, status);
    assert_eq!(got.metadata.generation, 2);
    let missing = ResourceKey::new(Kind::Agent, "defarm", "nope");
    assert!(matches!(
        store.write_status(&missing, 1, &status).await,
        Err(StoreError::NotFound(_))
    ));

    // Events, oldest first, limited to the latest.
    for i in 0..3 {
        store
            .append_event(
                &key,
                &NewEvent {
                    type_: if i == 2 {
                        EventType::Warning
                    } else {
                        EventType::Normal
                    },
                    reason: format!("Step{i}"),
                    message: format!("step {i}"),
                },
            )
            .await
            .unwrap();
    }
    let ev = store.list_events(&key, 2).await.unwrap();
    assert_eq!(
        ev.iter().map(|e| e.reason.as_str()).collect::<Vec<_>>(),
        ["Step1", "Step2"]
    );
    assert_eq!(ev[1].type_, "Warning");

    // Events appended at once (they share commits): every one lands, one caller's in the
    // order it appended them, and one for a resource that is gone fails alone.
    let appends = (0..40).map(|i| {
        let store = store.clone();
        let key = if i == 17 {
            missing.clone()
        } else {
            key.clone()
        };
        async move {
            store
                .append_event(
                    &key,
                    &NewEvent {
                        type_: EventType::Normal,
                        reason: format!("Burst{i:02}"),
                        message: format!("burst {i}"),
                    },
                )
                .await
        }
    });
    let outcomes = futures::future::join_all(appends).await;
    for (i, o) in outcomes.iter().enumerate() {
        if i == 17 {
            assert!(matches!(o, Err(StoreError::NotFound(_))), "{o:?}");
        } else {
            assert!(o.is_ok(), "{i}: {o:?}");
        }
    }
    let ev = store.list_events(&key, 39).await.unwrap();
    let expected: Vec<String> = (0..40)
        .filter(|i| *i != 17)
        .map(|i| format!("Burst{i:02}"))
        .collect();
    let got: Vec<String> = ev.iter().map(|e| e.reason.clone()).collect();
    assert_eq!(got, expected, "in the order they were appended");

    // Finalizers hold a deletion until they are removed.
    store.add_finalizer(&key, "akash/lease").await.unwrap();
    store.add_finalizer(&key, "akash/lease").await.unwrap();
    assert_eq!(
        store.get(&key).await.unwrap().unwrap().metadata.finalizers,
        ["akash/lease"]
    );
    assert_eq!(
        store.request_deletion(&key).await.unwrap(),
        Deletion::Requested
    );
    assert_eq!(
        store.request_deletion(&key).await.unwrap(),
        Deletion::AlreadyRequested
    );
    assert!(store
        .get(&key)
        .await
        .unwrap()
        .unwrap()
        .metadata
        .deletion_requested_at
        .is_some());

    // An apply touching a resource being deleted fails whole: nothing else is written.
    let fresh = agent("fresh", "defarm", "f:1", "");
    let err = store.apply(&[fresh.clone(), a.clone()]).await.unwrap_err();
    assert!(matches!(err, StoreError::BeingDeleted(_)), "{err}");
    assert!(
        store.get(&fresh.key).await.unwrap().is_none(),
        "apply must be atomic"
    );

    assert!(store
        .remove_finalizer(&key, "akash/lease")
        .await
        .unwrap()
        .is_none());
    assert!(store.get(&key).await.unwrap().is_none());
    assert!(store.list_events(&key, 10).await.unwrap().is_empty());

    // Without finalizers, deletion is immediate.
    let wkey = ResourceKey::new(Kind::Agent, "defarm", "worker");
    assert_eq!(
        store.request_deletion(&wkey).await.unwrap(),
        Deletion::Deleted
    );
    assert!(matches!(
        store.request_deletion(&wkey).await,
        Err(StoreError::NotFound(_))
    ));

    // The change feed records every write in order, deletions included.
    let changes = store.changes_since(0, 1000).await.unwrap();
    assert!(changes.windows(2).all(|w| w[0].id < w[1].id));
    let last = changes.last().unwrap();
    assert_eq!((last.op, &last.key), (ChangeOp::Delete, &wkey));
    assert_eq!(store.latest_change().await.unwrap(), last.id);

    // A watcher wakes promptly on a write from elsewhere, and times out when nothing happens.
    let cursor = store.latest_change().await.unwrap();
    let t = Instant::now();
    store
        .wait_for_change(cursor, Duration::from_millis(300))
        .await
        .unwrap();
    assert!(
        t.elapsed() >= Duration::from_millis(250),
        "woke without a change"
    );
    let writer = {
        let store = store.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(200)).await;
            store
                .apply(&[agent("late", "defarm", "l:1", "")])
                .await
                .unwrap();
        })
    };
    let t = Instant::now();
    store
        .wait_for_change(cursor, Duration::from_secs(10))
        .await
        .unwrap();
    let woke = t.elapsed();
    assert!(woke < Duration::from_secs(2), "watcher took {woke:?}");
    writer.await.unwrap();
    let news = store.changes_since(cursor, 10).await.unwrap();
    assert_eq!(news.len(), 1);
    assert_eq!(news[0].key.name, "late");

    // Concurrent writers never collide: every apply lands, versions stay unique.
    let mut tasks = Vec::new();
    for t in 0..8 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..10 {
                let r = store
                    .apply(&[agent(&format!("c{t}-{i}"), "load", "c:1", "")])
                    .await
                    .unwrap();
                assert_eq!(r[0].outcome, ApplyOutcome::Created);
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let all = store
        .list(&ListQuery {
            project: Some("load".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(all.len(), 80);
    let mut rvs: Vec<i64> = all.iter().map(|r| r.metadata.resource_version).collect();
    rvs.sort();
    rvs.dedup();
    assert_eq!(rvs.len(), 80);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_store_suite() {
    let db = TestDb::sqlite();
    run_suite(Arc::new(db.open().await)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_store_suite() {
    let Some(db) = TestDb::postgres().await else {
        return;
    };
    run_suite(Arc::new(db.open().await)).await;
}

#[tokio::test]
async fn reopening_keeps_everything_and_migrations_are_idempotent() {
    let db = TestDb::sqlite();
    let store = db.open().await;
    store.apply(&[agent("keep", "p", "k:1", "")]).await.unwrap();
    store.close().await;
    let store = db.open().await;
    let key = ResourceKey::new(Kind::Agent, "p", "keep");
    assert_eq!(store.get(&key).await.unwrap().unwrap().spec["image"], "k:1");
}

#[tokio::test]
async fn unsupported_urls_are_refused_clearly() {
    let e = af_operator::store::open("mysql://x").await.unwrap_err();
    assert!(
        e.to_string()
            .contains("expected sqlite://PATH or postgres://"),
        "{e}"
    );
    let e = af_operator::store::open("postgres://nobody:secret@127.0.0.1:1/x")
        .await
        .unwrap_err();
    assert!(!e.to_string().contains("secret"), "password leaked: {e}");
}

#[tokio::test]
async fn list_pages_after_the_selector() {
    let db = TestDb::sqlite();
    let store = db.open().await;
    let inputs: Vec<_> = (0..10)
        .map(|i| {
            agent(
                &format!("a{i}"),
                "p",
                "x:1",
                if i % 2 == 0 {
                    "team: even"
                } else {
                    "team: odd"
                },
            )
        })
        .collect();
    store.apply(&inputs).await.unwrap();
    let page = store
        .list(&ListQuery {
            kind: Some(Kind::Agent),
            project: Some("p".into()),
            selector: "team=even".parse().unwrap(),
            offset: 1,
            limit: Some(2),
        })
        .await
        .unwrap();
    let names: Vec<_> = page.iter().map(|r| r.metadata.name.as_str()).collect();
    assert_eq!(names, ["a2", "a4"]);
}

fn intent(owner: &str, dseq: u64, uid: &str, state: IntentState) -> DeploymentIntent {
    DeploymentIntent {
        owner: owner.into(),
        dseq,
        resource_uid: uid.into(),
        resource_key: format!("agent/p/{uid}"),
        generation: 3,
        manifest_version: "ab".repeat(32),
        deposit: "5000000uact".into(),
        state,
        created_at: String::new(),
        updated_at: String::new(),
    }
}

async fn run_intents(store: Arc<dyn IntentStore>) {
    let owner = "akash1owner";
    assert_eq!(store.max_dseq(owner).await.unwrap(), 0);
    assert!(store.intents(owner, &[]).await.unwrap().is_empty());

    // Record; timestamps come from the store; every u64 round-trips.
    store
        .record_intent(&intent(owner, 900, "uid-a", IntentState::Pending))
        .await
        .unwrap();
    store
        .record_intent(&intent(owner, u64::MAX, "uid-b", IntentState::Active))
        .await
        .unwrap();
    store
        .record_intent(&intent(owner, 1_000, "uid-a", IntentState::Pending))
        .await
        .unwrap();
    // Another owner may use the same dseq.
    store
        .record_intent(&intent("akash1other", 900, "uid-c", IntentState::Pending))
        .await
        .unwrap();
    let got = store.intents_for("uid-a").await.unwrap();
    assert_eq!(
        got.iter().map(|i| i.dseq).collect::<Vec<_>>(),
        [900, 1_000],
        "oldest first"
    );
    assert_eq!(got[0].generation, 3);
    assert_eq!(got[0].deposit, "5000000uact");
    assert_eq!(got[0].resource_key, "agent/p/uid-a");
    assert!(!got[0].created_at.is_empty() && got[0].created_at == got[0].updated_at);
    let b = store.intents_for("uid-b").await.unwrap();
    assert_eq!((b[0].dseq, b[0].state), (u64::MAX, IntentState::Active));
    assert_eq!(store.max_dseq(owner).await.unwrap(), u64::MAX);
    assert_eq!(store.max_dseq("akash1other").await.unwrap(), 900);

    // A taken (owner, dseq) is refused, whoever asks, and the first intent stays as it was.
    let dup = store
        .record_intent(&intent(owner, 900, "uid-z", IntentState::Active))
        .await;
    assert!(
        matches!(dup, Err(StoreError::DuplicateDseq { ref owner, dseq: 900 }) if owner == "akash1owner"),
        "{dup:?}"
    );
    assert!(store.intents_for("uid-z").await.unwrap().is_empty());
    assert_eq!(
        store.intents_for("uid-a").await.unwrap()[0].state,
        IntentState::Pending
    );

    // State moves; a missing intent is reported.
    tokio::time::sleep(Duration::from_millis(5)).await;
    store
        .set_intent_state(owner, 900, IntentState::Closing)
        .await
        .unwrap();
    let moved = store.intents_for("uid-a").await.unwrap();
    assert_eq!(moved[0].state, IntentState::Closing);
    assert!(moved[0].updated_at > moved[0].created_at, "{moved:?}");
    assert!(matches!(
        store
            .set_intent_state(owner, 901, IntentState::Closed)
            .await,
        Err(StoreError::IntentNotFound { dseq: 901, .. })
    ));

    // Filter by state, ordered by dseq (numerically, u64::MAX last).
    let dseqs = |v: Vec<DeploymentIntent>| v.into_iter().map(|i| i.dseq).collect::<Vec<_>>();
    assert_eq!(
        dseqs(store.intents(owner, &[]).await.unwrap()),
        [900, 1_000, u64::MAX]
    );
    assert_eq!(
        dseqs(
            store
                .intents(owner, &[IntentState::Pending, IntentState::Active])
                .await
                .unwrap()
        ),
        [1_000, u64::MAX]
    );
    assert_eq!(
        dseqs(store.intents(owner, &[IntentState::Closing]).await.unwrap()),
        [900]
    );
    assert!(store
        .intents(owner, &[IntentState::Closed])
        .await
        .unwrap()
        .is_empty());

    // Many tasks racing for one dseq: exactly one wins, the others see DuplicateDseq.
    let mut tasks = Vec::new();
    for t in 0..16 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            store
                .record_intent(&intent(
                    "akash1race",
                    77,
                    &format!("racer-{t}"),
                    IntentState::Pending,
                ))
                .await
        }));
    }
    let mut wins = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(()) => wins += 1,
            Err(StoreError::DuplicateDseq { dseq: 77, .. }) => {}
            Err(e) => panic!("unexpected error: {e}"),
        }
    }
    assert_eq!(wins, 1);
    assert_eq!(store.intents("akash1race", &[]).await.unwrap().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_intents() {
    let db = TestDb::sqlite();
    run_intents(Arc::new(db.open().await)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_intents() {
    let Some(db) = TestDb::postgres().await else {
        return;
    };
    run_intents(Arc::new(db.open().await)).await;
}

/// The change feed tells spec changes from status and finalizer writes, and a cursor older
/// than what is kept is told to relist. `store` keeps only 5 changes.
async fn run_change_feed(store: Arc<dyn Store>) {
    let feed = ChangeFeed::new(store.clone());
    let mut cursor = feed.cursor(store.latest_change().await.unwrap());
    let a = agent("feed", "p", "f:1", "team: core");
    let key = a.key.clone();
    let mut next = async || {
        let batch = tokio::time::timeout(Duration::from_secs(10), cursor.next_batch(10))
            .await
            .expect("a change within 10 s")
            .unwrap();
        assert_eq!(batch.len(), 1, "{batch:?}");
        batch.into_iter().next().unwrap()
    };

    store.apply(std::slice::from_ref(&a)).await.unwrap();
    let created = next().await;
    assert_eq!(created.key, key);
    assert_eq!(created.op, ChangeOp::Upsert);
    assert!(created.spec_changed, "a creation is a spec change");
    assert_eq!(created.generation, 1);
    let uid = store.get(&key).await.unwrap().unwrap().metadata.uid;
    assert_eq!(created.uid, uid);

    // A status write (the reconciler's own) is not a spec change; its generation stays.
    let status = Status {
        observed_generation: Some(1),
        ..Default::default()
    };
    store.write_status(&key, created.id, &status).await.unwrap();
    let c = next().await;
    assert_eq!((c.spec_changed, c.generation), (false, 1), "{c:?}");
    assert_eq!(
        c.id,
        store
            .get(&key)
            .await
            .unwrap()
            .unwrap()
            .metadata
            .resource_version
    );

    // Neither is a finalizer.
    store.add_finalizer(&key, "akash/lease").await.unwrap();
    assert!(!next().await.spec_changed);

    // A spec change bumps the generation; a labels-only change does not, but is one.
    store
        .apply(&[agent("feed", "p", "f:2", "team: core")])
        .await
        .unwrap();
    let c = next().await;
    assert_eq!((c.spec_changed, c.generation), (true, 2), "{c:?}");
    store
        .apply(&[agent("feed", "p", "f:2", "team: edge")])
        .await
        .unwrap();
    let c = next().await;
    assert_eq!((c.spec_changed, c.generation), (true, 2), "{c:?}");

    // A deletion request is; removing the last finalizer deletes, which is too.
    assert_eq!(
        store.request_deletion(&key).await.unwrap(),
        Deletion::Requested
    );
    let c = next().await;
    assert_eq!((c.op, c.spec_changed), (ChangeOp::Upsert, true));
    store.remove_finalizer(&key, "akash/lease").await.unwrap();
    let c = next().await;
    assert_eq!(
        (c.op, c.spec_changed, c.generation),
        (ChangeOp::Delete, true, 2)
    );
    assert_eq!(c.uid, uid);

    // Twenty more writes with 5 kept: a cursor from before them has lost changes.
    let stale = cursor.position();
    for i in 0..20 {
        store
            .apply(&[agent(&format!("filler-{i}"), "p", "x:1", "")])
            .await
            .unwrap();
    }
    let latest = store.latest_change().await.unwrap();
    let kept = store.changes_since(latest - 3, 100).await.unwrap();
    assert_eq!(kept.len(), 3, "recent cursors still read: {kept:?}");
    let err = store.changes_since(stale, 100).await.unwrap_err();
    let StoreError::Expired { after, oldest } = err else {
        panic!("expected Expired, got {err}");
    };
    assert_eq!(after, stale);
    assert!(
        oldest > stale + 1 && oldest <= latest,
        "{oldest} {stale} {latest}"
    );
    assert_eq!(
        err_text(store.changes_since(0, 100).await),
        format!("change feed cursor 0 expired (the oldest change kept is {oldest}); relist")
    );
    // The cursor says so too; after a relist it resets and follows again.
    assert!(matches!(
        cursor.next_batch(10).await,
        Err(StoreError::Expired { .. })
    ));
    assert_eq!(
        cursor.position(),
        stale,
        "an error does not move the cursor"
    );
    cursor.reset(store.latest_change().await.unwrap());
    store
        .apply(&[agent("after", "p", "x:1", "")])
        .await
        .unwrap();
    assert_eq!(next_name(&mut cursor).await, "after");
}

fn err_text<T: std::fmt::Debug>(r: Result<T, StoreError>) -> String {
    r.unwrap_err().to_string()
}

async fn next_name(cursor: &mut ChangeCursor) -> String {
    let batch = tokio::time::timeout(Duration::from_secs(10), cursor.next_batch(10))
        .await
        .expect("a change within 10 s")
        .unwrap();
    batch[0].key.name.clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_change_feed() {
    let db = TestDb::sqlite();
    run_change_feed(Arc::new(db.open().await.with_change_retention(5))).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_change_feed() {
    let Some(db) = TestDb::postgres().await else {
        return;
    };
    run_change_feed(Arc::new(db.open().await.with_change_retention(5))).await;
}

fn with_version(mut input: ResourceInput, rv: i64) -> ResourceInput {
    input.resource_version = Some(rv);
    input
}

/// `metadata.resourceVersion` is a precondition of apply.
async fn run_optimistic_apply(store: Arc<dyn Store>) {
    let a = agent("occ", "p", "o:1", "");
    let key = a.key.clone();

    // Present on an absent resource: only 0 ("create only") is accepted.
    let err = store
        .apply(&[with_version(a.clone(), 7)])
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::Conflict {
                expected: 7,
                actual: 0,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("does not exist"), "{err}");
    assert!(store.get(&key).await.unwrap().is_none());
    let created = store.apply(&[with_version(a.clone(), 0)]).await.unwrap();
    assert_eq!(created[0].outcome, ApplyOutcome::Created);
    let rv = created[0].resource_version;

    // 0 on an existing resource: conflict, with both versions in the message.
    let err = store
        .apply(&[with_version(a.clone(), 0)])
        .await
        .unwrap_err();
    assert!(
        matches!(err, StoreError::Conflict { expected: 0, actual, .. } if actual == rv),
        "{err:?}"
    );
    assert!(err.to_string().contains(&rv.to_string()), "{err}");

    // The current version writes; the same version again is stale now, and the whole apply
    // (with another, fresh resource) is refused.
    let r = store
        .apply(&[with_version(agent("occ", "p", "o:2", ""), rv)])
        .await
        .unwrap();
    assert_eq!(r[0].outcome, ApplyOutcome::Configured);
    let rv2 = r[0].resource_version;
    let other = agent("occ-other", "p", "x:1", "");
    let err = store
        .apply(&[
            other.clone(),
            with_version(agent("occ", "p", "o:3", ""), rv),
        ])
        .await
        .unwrap_err();
    assert!(
        matches!(err, StoreError::Conflict { expected, actual, .. } if expected == rv && actual == rv2),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        format!("conflict on agent/occ (project p): resourceVersion {rv} is stale (now {rv2}); read it again and retry")
    );
    assert!(store.get(&other.key).await.unwrap().is_none(), "atomic");
    assert_eq!(store.get(&key).await.unwrap().unwrap().spec["image"], "o:2");

    // A status write moves the version too: a document read before it is stale.
    store
        .write_status(&key, rv2, &Status::default())
        .await
        .unwrap();
    assert!(matches!(
        store
            .apply(&[with_version(agent("occ", "p", "o:3", ""), rv2)])
            .await,
        Err(StoreError::Conflict { .. })
    ));
    // Without a version, apply writes regardless.
    let r = store.apply(&[agent("occ", "p", "o:3", "")]).await.unwrap();
    assert_eq!(r[0].outcome, ApplyOutcome::Configured);

    // Many writers with the version they read: exactly one wins each round.
    let current = store
        .get(&key)
        .await
        .unwrap()
        .unwrap()
        .metadata
        .resource_version;
    let mut tasks = Vec::new();
    for t in 0..8 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            store
                .apply(&[with_version(
                    agent("occ", "p", &format!("race:{t}"), ""),
                    current,
                )])
                .await
        }));
    }
    let mut wins = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(_) => wins += 1,
            Err(StoreError::Conflict { .. }) => {}
            Err(e) => panic!("unexpected error: {e}"),
        }
    }
    assert_eq!(wins, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_optimistic_apply() {
    let db = TestDb::sqlite();
    run_optimistic_apply(Arc::new(db.open().await)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_optimistic_apply() {
    let Some(db) = TestDb::postgres().await else {
        return;
    };
    run_optimistic_apply(Arc::new(db.open().await)).await;
}

fn short_lease(name: &str) -> LeaderConfig {
    LeaderConfig {
        name: name.into(),
        lease: Duration::from_millis(1200),
        renew_every: Duration::from_millis(300),
        retry_every: Duration::from_millis(150),
    }
}

/// Waits until `rx` reads `want`; how long that took.
async fn turns(
    rx: &mut tokio::sync::watch::Receiver<bool>,
    want: bool,
    within: Duration,
) -> Duration {
    let t = Instant::now();
    tokio::time::timeout(within, rx.wait_for(|v| *v == want))
        .await
        .unwrap_or_else(|_| panic!("is_leader did not turn {want} within {within:?}"))
        .unwrap();
    t.elapsed()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_leader_election() {
    let Some(db) = TestDb::postgres().await else {
        return;
    };
    // Two replicas: two stores over one database.
    let (one, two) = (db.open().await, db.open().await);
    let cfg = short_lease("reconciler");
    let a = elect(&one, "replica-a", cfg.clone()).await.unwrap();
    let b = elect(&two, "replica-b", cfg.clone()).await.unwrap();
    assert!(*a.is_leader().borrow(), "the first replica leads");
    assert!(!*b.is_leader().borrow(), "the second stands by");

    // The leader renews: after twice the lease, nothing has moved.
    tokio::time::sleep(cfg.lease * 2).await;
    assert!(*a.is_leader().borrow());
    assert!(!*b.is_leader().borrow());
    let leases = LeaderLease::new(&one).expect("PostgreSQL has leases");
    assert_eq!(
        leases.holder("reconciler").await.unwrap().as_deref(),
        Some("replica-a")
    );

    // The leader stops renewing (as if killed): the standby takes over within the lease.
    let mut b_leads = b.is_leader();
    drop(a);
    let took = turns(&mut b_leads, true, Duration::from_secs(10)).await;
    assert!(
        took <= cfg.lease + cfg.retry_every + Duration::from_millis(500),
        "took over after {took:?}"
    );
    assert_eq!(
        leases.holder("reconciler").await.unwrap().as_deref(),
        Some("replica-b")
    );

    // The old replica comes back as a standby; a resignation hands over at once.
    let a = elect(&one, "replica-a", cfg.clone()).await.unwrap();
    assert!(!*a.is_leader().borrow());
    let mut a_leads = a.is_leader();
    b.resign().await.unwrap();
    let took = turns(&mut a_leads, true, Duration::from_secs(10)).await;
    assert!(
        took < cfg.lease,
        "a resignation must not wait for expiry: {took:?}"
    );

    // Another lease name has its own leader.
    let other = elect(&two, "replica-b", short_lease("janitor"))
        .await
        .unwrap();
    assert!(*other.is_leader().borrow());

    // The lease rows themselves: held, refused to others, free once expired.
    let ttl = Duration::from_millis(300);
    assert!(leases.try_acquire("raw", "x", ttl).await.unwrap());
    assert!(
        leases.try_acquire("raw", "x", ttl).await.unwrap(),
        "reentrant"
    );
    assert!(!leases.try_acquire("raw", "y", ttl).await.unwrap());
    assert!(!leases.renew("raw", "y", ttl).await.unwrap());
    assert!(leases.renew("raw", "x", ttl).await.unwrap());
    tokio::time::sleep(ttl + Duration::from_millis(100)).await;
    assert_eq!(leases.holder("raw").await.unwrap(), None, "expired");
    assert!(leases.try_acquire("raw", "y", ttl).await.unwrap());
    assert!(!leases.renew("raw", "x", ttl).await.unwrap(), "x lost it");
    leases.release("raw", "x").await.unwrap();
    assert_eq!(
        leases.holder("raw").await.unwrap().as_deref(),
        Some("y"),
        "only the holder releases"
    );
    leases.release("raw", "y").await.unwrap();
    assert_eq!(leases.holder("raw").await.unwrap(), None);
}

#[tokio::test]
async fn sqlite_leader_is_the_process_holding_the_lock_file() {
    let db = TestDb::sqlite();
    let store = db.open().await;
    let first = elect(&store, "a", LeaderConfig::default()).await.unwrap();
    assert!(*first.is_leader().borrow());
    let path = format!("{}.lock", db.url.trim_start_matches("sqlite://"));
    let pid = format!("pid {}", std::process::id());
    assert_eq!(std::fs::read_to_string(&path).unwrap().trim(), pid);

    // A second daemon is refused, told which file and which process.
    let other = db.open().await;
    let err = elect(&other, "b", LeaderConfig::default())
        .await
        .unwrap_err();
    assert!(
        matches!(&err, StoreError::LeaderLocked { path: p, holder } if *p == path && *holder == pid),
        "{err:?}"
    );
    let text = err.to_string();
    assert!(text.contains(&path) && text.contains(&pid), "{text}");

    // Once the leader is gone, the lock is free.
    drop(first);
    let next = elect(&other, "b", LeaderConfig::default()).await.unwrap();
    assert!(*next.is_leader().borrow());
}
