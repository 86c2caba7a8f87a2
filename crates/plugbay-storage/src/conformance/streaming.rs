//! Streamed puts, failing streams and many-object round trips.

use bytes::Bytes;
use futures::{StreamExt, TryStreamExt, stream};
use plugbay_core::{Error, ErrorKind};

use super::{Scratch, assert_kind, checksum, pseudo_random};
use crate::{Body, ObjectStore, ObjectStoreExt};

fn chunked(data: &[u8], chunk: usize) -> Vec<plugbay_core::Result<Bytes>> {
    data.chunks(chunk)
        .map(|c| Ok(Bytes::copy_from_slice(c)))
        .collect()
}

/// A 3 MiB body streamed in 64 KiB chunks (with and without a size hint)
/// round-trips by checksum, and streams back in more than one chunk-sized
/// piece without loss.
pub async fn streaming_put(store: &dyn ObjectStore) {
    let scratch = Scratch::new("streaming_put");
    let data = pseudo_random(7, 3 * 1024 * 1024);
    let sum = checksum(&data);
    for (name, hint) in [("no-hint", None), ("hinted", Some(data.len() as u64))] {
        let key = scratch.key(name);
        let mut body = Body::from_stream(stream::iter(chunked(&data, 64 * 1024)));
        if let Some(size) = hint {
            body = body.with_size_hint(size);
        }
        let meta = store
            .put_opts(&key, body, Default::default())
            .await
            .unwrap();
        assert_eq!(meta.size, data.len() as u64, "{name}");
        assert_eq!(store.head(&key).await.unwrap().size, data.len() as u64);

        let got = store.get(&key).await.unwrap();
        assert_eq!(got.range, 0..data.len() as u64);
        let chunks: Vec<Bytes> = got.into_stream().try_collect().await.unwrap();
        let joined: Vec<u8> = chunks.concat();
        assert_eq!(checksum(&joined), sum, "{name}: content differs");
    }
    scratch.cleanup(store).await;
}

/// A body stream that fails midway makes the put fail with the stream's
/// error and leaves no object: neither a new one nor a changed old one.
pub async fn failed_stream_leaves_nothing(store: &dyn ObjectStore) {
    let scratch = Scratch::new("failed_stream_leaves_nothing");
    let failing = || {
        let mut items = chunked(&pseudo_random(3, 256 * 1024), 64 * 1024);
        items.push(Err(Error::new(
            ErrorKind::Unavailable,
            "upload source went away",
        )));
        items.extend(chunked(b"never read", 4));
        Body::from_stream(stream::iter(items))
    };
    let fresh = scratch.key("fresh");
    assert_kind(store.put(&fresh, failing()).await, ErrorKind::Unavailable);
    assert_kind(store.get(&fresh).await, ErrorKind::NotFound);

    let existing = scratch.key("existing");
    store.put(&existing, "keep me").await.unwrap();
    assert_kind(
        store.put(&existing, failing()).await,
        ErrorKind::Unavailable,
    );
    assert_eq!(store.get_bytes(&existing).await.unwrap(), "keep me");

    let listed = store.list_all(scratch.prefix()).await.unwrap();
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(listed[0].key, existing);
    scratch.cleanup(store).await;
}

/// 200 objects of pseudo-random sizes (0 to 96 KiB) written concurrently
/// read back with matching checksums, sizes and listing.
pub async fn random_round_trip(store: &dyn ObjectStore) {
    const COUNT: u64 = 200;
    let scratch = Scratch::new("random_round_trip");
    let objects: Vec<(crate::Key, Vec<u8>)> = (0..COUNT)
        .map(|i| {
            let size_seed = pseudo_random(i + 1000, 8);
            let size =
                (u64::from_le_bytes(size_seed.try_into().unwrap()) % (96 * 1024 + 1)) as usize;
            let size = if i == 0 { 0 } else { size };
            (scratch.key(&format!("obj/{i:03}")), pseudo_random(i, size))
        })
        .collect();
    stream::iter(objects.iter())
        .for_each_concurrent(16, |(key, data)| async move {
            let meta = store.put(key, data.clone()).await.unwrap();
            assert_eq!(meta.size, data.len() as u64);
        })
        .await;
    stream::iter(objects.iter())
        .for_each_concurrent(16, |(key, data)| async move {
            let got = store.get_bytes(key).await.unwrap();
            assert_eq!(checksum(&got), checksum(data), "{key}");
        })
        .await;
    let listed = store.list_all(scratch.prefix()).await.unwrap();
    assert_eq!(listed.len() as u64, COUNT);
    for (meta, (key, data)) in listed.iter().zip(&objects) {
        assert_eq!(&meta.key, key);
        assert_eq!(meta.size, data.len() as u64, "{key}");
    }
    scratch.cleanup(store).await;
}
