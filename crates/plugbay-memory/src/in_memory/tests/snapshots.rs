//! Snapshot persistence: round trips, corrupt files, crash safety,
//! debounced saves.

use std::path::Path;
use std::time::Duration;

use super::*;
use crate::store::VectorStoreExt;

async fn sample_store(path: &Path) -> InMemoryVectorStore {
    let store = InMemoryVectorStore::with_snapshot(path).unwrap();
    store
        .ensure_collection(CollectionSpec::new("docs", 3, Metric::Cosine))
        .await
        .unwrap();
    store
        .ensure_collection(CollectionSpec::new("empty", 2, Metric::Euclidean))
        .await
        .unwrap();
    store
        .upsert(
            "docs",
            vec![
                VectorRecord::new("a", vec![1.0, 0.0, 0.0])
                    .with_field("lang", "en")
                    .with_field("tags", serde_json::json!(["x", "y"])),
                VectorRecord::new("b", vec![0.0, 2.0, 0.0]).with_field("lang", "de"),
                VectorRecord::new("c", vec![0.0, 0.0, 3.0]).with_field("year", 2021),
            ],
        )
        .await
        .unwrap();
    store
}

#[tokio::test]
async fn snapshot_round_trips_records_metadata_and_filters() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("vectors.snap");
    let store = sample_store(&path).await;
    assert!(store.unsaved_changes());
    store.flush().await.unwrap();
    assert!(!store.unsaved_changes());
    let before = store
        .get("docs", &["a".into(), "b".into(), "c".into()])
        .await
        .unwrap();

    let loaded = InMemoryVectorStore::with_snapshot(&path).unwrap();
    assert!(!loaded.unsaved_changes());
    let after = loaded
        .get("docs", &["a".into(), "b".into(), "c".into()])
        .await
        .unwrap();
    assert_eq!(after, before);
    assert_eq!(loaded.count("empty", None).await.unwrap(), 0);
    let hits = loaded
        .query(
            "docs",
            VectorQuery::new(vec![0.0, 1.0, 0.1], 3).filter(Filter::eq("lang", "de")),
        )
        .await
        .unwrap();
    assert_eq!(ids(&hits), ["b"]);
    assert_eq!(
        loaded
            .count("docs", Some(Filter::eq("tags", "y")))
            .await
            .unwrap(),
        1
    );
    // The same spec is accepted, a different one still conflicts.
    let err = loaded
        .ensure_collection(CollectionSpec::new("docs", 4, Metric::Cosine))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::AlreadyExists);
    // Deletes and drops are persisted too.
    loaded.delete_one("docs", "a").await.unwrap();
    loaded.drop_collection("empty").await.unwrap();
    loaded.snapshot().await.unwrap();
    let again = InMemoryVectorStore::with_snapshot(&path).unwrap();
    assert_eq!(again.count("docs", None).await.unwrap(), 2);
    assert_eq!(
        again.count("empty", None).await.unwrap_err().kind(),
        ErrorKind::NotFound
    );
}

#[tokio::test]
async fn a_missing_file_starts_empty_and_no_path_cannot_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    let store = InMemoryVectorStore::with_snapshot(dir.path().join("none.snap")).unwrap();
    assert_eq!(
        store.count("x", None).await.unwrap_err().kind(),
        ErrorKind::NotFound
    );
    let plain = InMemoryVectorStore::new();
    plain.flush().await.unwrap();
    assert_eq!(
        plain.snapshot().await.unwrap_err().kind(),
        ErrorKind::Config
    );
}

#[tokio::test]
async fn corrupt_and_truncated_files_are_protocol_errors() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("vectors.snap");
    sample_store(&path).await.flush().await.unwrap();
    let good = std::fs::read(&path).unwrap();
    let mut cases: Vec<(&str, Vec<u8>)> = vec![
        ("empty", Vec::new()),
        (
            "garbage",
            b"definitely not a snapshot, just some text that is long enough".to_vec(),
        ),
        ("truncated", good[..good.len() / 2].to_vec()),
        ("no digest", good[..good.len() - 32].to_vec()),
    ];
    for at in [0, 9, 30, good.len() / 2, good.len() - 40, good.len() - 1] {
        let mut flipped = good.clone();
        flipped[at] ^= 0x5a;
        cases.push(("flipped", flipped));
    }
    let mut newer = good.clone();
    newer[8] = 99;
    cases.push(("version", newer));
    for (what, bytes) in cases {
        let bad = dir.path().join("bad.snap");
        std::fs::write(&bad, &bytes).unwrap();
        let err = InMemoryVectorStore::with_snapshot(&bad).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Protocol, "{what}: {err}");
        assert!(err.to_string().contains("snapshot"), "{what}: {err}");
    }
}

#[tokio::test]
async fn a_failed_save_never_replaces_the_good_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("vectors.snap");
    let store = sample_store(&path).await;
    store.flush().await.unwrap();
    let good = std::fs::read(&path).unwrap();
    store
        .upsert("docs", vec![VectorRecord::new("d", vec![1.0, 1.0, 1.0])])
        .await
        .unwrap();
    let collections: Vec<(String, Shared)> = store
        .inner
        .collections
        .read()
        .unwrap()
        .iter()
        .map(|(n, c)| (n.clone(), Arc::clone(c)))
        .collect();
    for budget in [0, 10, 100, good.len() as u64 - 1] {
        let err = snapshot::save(&path, &collections, Some(budget)).unwrap_err();
        assert_ne!(err.kind(), ErrorKind::Protocol);
        assert_eq!(std::fs::read(&path).unwrap(), good, "budget {budget}");
    }
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(leftovers.len(), 1, "{leftovers:?}");
    // The failed saves left the store dirty; a real save then works.
    assert!(store.unsaved_changes());
    store.flush().await.unwrap();
    let reloaded = InMemoryVectorStore::with_snapshot(&path).unwrap();
    assert_eq!(reloaded.count("docs", None).await.unwrap(), 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn debounced_saves_follow_writes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("vectors.snap");
    let store = InMemoryVectorStore::builder()
        .snapshot(&path)
        .snapshot_debounce(Duration::from_millis(20))
        .build()
        .unwrap();
    store
        .ensure_collection(CollectionSpec::new("c", 2, Metric::Dot))
        .await
        .unwrap();
    store
        .upsert("c", vec![VectorRecord::new("a", vec![1.0, 2.0])])
        .await
        .unwrap();
    // Bounded wait for the background save (no timing is asserted).
    for _ in 0..500 {
        if !store.unsaved_changes() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(!store.unsaved_changes());
    let reloaded = InMemoryVectorStore::with_snapshot(&path).unwrap();
    assert_eq!(
        reloaded.get("c", &["a".into()]).await.unwrap()[0].vector,
        vec![1.0, 2.0]
    );
}
