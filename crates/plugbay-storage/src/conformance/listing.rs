//! Prefix, delimiter and pagination behaviour of `list`.

use futures::StreamExt;
use plugbay_core::ErrorKind;

use super::{Scratch, assert_kind, skip};
use crate::{ListOptions, ObjectStore, ObjectStoreExt};

/// Listing is in byte order, filters by plain string prefix, and with a
/// delimiter groups deeper keys into common prefixes. Invalid prefixes are
/// `InvalidInput`.
pub async fn list_with_delimiter(store: &dyn ObjectStore) {
    let scratch = Scratch::new("list_with_delimiter");
    let p = scratch.prefix();
    let names = ["a.txt", "b/1", "b/2", "c/d/e", "c.txt", "c-d", "z"];
    for name in names {
        store
            .put(&scratch.key(name), name.to_owned())
            .await
            .unwrap();
    }
    let keys = |page: &crate::ListPage| -> Vec<String> {
        page.objects
            .iter()
            .map(|o| o.key.as_str()[p.len()..].to_owned())
            .collect()
    };

    // Flat listing: every key, ascending bytes ("c-d" < "c.txt" < "c/d/e").
    let flat = store.list(p, ListOptions::new()).await.unwrap();
    assert_eq!(
        keys(&flat),
        ["a.txt", "b/1", "b/2", "c-d", "c.txt", "c/d/e", "z"]
    );
    assert!(flat.common_prefixes.is_empty());
    assert_eq!(flat.next_token, None);
    let b = flat
        .objects
        .iter()
        .find(|o| o.key.as_str().ends_with("b/1"))
        .unwrap();
    assert_eq!(b.size, 3);

    // Plain string prefix, not only whole folders.
    let partial = store
        .list(&format!("{p}c"), ListOptions::new())
        .await
        .unwrap();
    assert_eq!(keys(&partial), ["c-d", "c.txt", "c/d/e"]);
    let folder = store
        .list(&format!("{p}b/"), ListOptions::new())
        .await
        .unwrap();
    assert_eq!(keys(&folder), ["b/1", "b/2"]);
    let none = store
        .list(&format!("{p}nothing/"), ListOptions::new())
        .await
        .unwrap();
    assert!(none.objects.is_empty() && none.common_prefixes.is_empty());

    if store.capabilities().list_delimiter {
        let grouped = store
            .list(p, ListOptions::new().delimiter("/"))
            .await
            .unwrap();
        assert_eq!(keys(&grouped), ["a.txt", "c-d", "c.txt", "z"]);
        assert_eq!(
            grouped.common_prefixes,
            [format!("{p}b/"), format!("{p}c/")]
        );
        let nested = store
            .list(&format!("{p}c/"), ListOptions::new().delimiter("/"))
            .await
            .unwrap();
        assert!(nested.objects.is_empty());
        assert_eq!(nested.common_prefixes, [format!("{p}c/d/")]);
        // Paging through groups: one entry per page, nothing repeated.
        let mut seen = Vec::new();
        let mut token = None;
        loop {
            let mut opts = ListOptions::new().delimiter("/").max_keys(1);
            opts.continuation_token = token.take();
            let page = store.list(p, opts).await.unwrap();
            assert!(page.objects.len() + page.common_prefixes.len() <= 1);
            seen.extend(keys(&page));
            seen.extend(page.common_prefixes.iter().map(|c| c[p.len()..].to_owned()));
            match page.next_token {
                Some(t) => token = Some(t),
                None => break,
            }
        }
        seen.sort();
        assert_eq!(seen, ["a.txt", "b/", "c-d", "c.txt", "c/", "z"]);
    } else {
        skip(
            "list_with_delimiter/delimiter",
            "backend does not group by delimiter",
        );
    }

    for bad in ["../", "/abs", "a//b"] {
        assert_kind(
            store.list(bad, ListOptions::new()).await,
            ErrorKind::InvalidInput,
        );
    }
    scratch.cleanup(store).await;
}

/// 1005 keys listed 100 per page: 11 pages, every key once, in order;
/// `start_after` resumes strictly after a key.
pub async fn pagination(store: &dyn ObjectStore) {
    const COUNT: usize = 1005;
    let scratch = Scratch::new("pagination");
    let expected: Vec<String> = (0..COUNT)
        .map(|i| scratch.key(&format!("k{i:05}")).into_string())
        .collect();
    futures::stream::iter(expected.iter().cloned())
        .for_each_concurrent(16, |k| async move {
            let key = crate::Key::new(k).unwrap();
            store.put(&key, Vec::new()).await.unwrap();
        })
        .await;

    let page_size = 100.min(store.capabilities().max_list_page);
    let mut listed = Vec::new();
    let mut pages = 0;
    let mut token: Option<String> = None;
    loop {
        let mut opts = ListOptions::new().max_keys(page_size);
        opts.continuation_token = token.take();
        let page = store.list(scratch.prefix(), opts).await.unwrap();
        pages += 1;
        assert!(page.objects.len() <= page_size, "page too large");
        listed.extend(page.objects.into_iter().map(|o| o.key.into_string()));
        match page.next_token {
            Some(t) => token = Some(t),
            None => break,
        }
        assert!(pages <= COUNT, "pagination does not terminate");
    }
    assert_eq!(listed, expected, "keys missing, repeated or out of order");
    if page_size == 100 {
        assert_eq!(pages, 11);
    }

    let after = store
        .list(
            scratch.prefix(),
            ListOptions::new()
                .start_after(expected[999].clone())
                .max_keys(10),
        )
        .await
        .unwrap();
    let rest: Vec<String> = after
        .objects
        .into_iter()
        .map(|o| o.key.into_string())
        .collect();
    assert_eq!(rest, expected[1000..]);
    assert_eq!(store.list_all(scratch.prefix()).await.unwrap().len(), COUNT);
    scratch.cleanup(store).await;
}
