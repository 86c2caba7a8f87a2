use axum::body::Body;
use axum::http::{Method, StatusCode, header};
use bytes::Bytes;
use plugbay_server::ServerConfig;

use crate::common::*;

async fn upload(app: &axum::Router, token: &str, key: &str, data: &'static [u8]) -> Reply {
    let request = request(Method::PUT, &format!("/v1/files/{key}"), Some(token))
        .header(header::CONTENT_TYPE, "text/plain")
        .body(Body::from(data))
        .unwrap();
    send(app, request).await
}

#[tokio::test]
async fn upload_download_ranges_list_and_delete() {
    let app = app().await;
    let token = login(&app, "alice").await;
    let data: &'static [u8] = b"0123456789abcdefghij";

    let created = upload(&app, &token, "notes/today.txt", data).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text());
    assert_eq!(created.json()["key"], "notes/today.txt");
    assert_eq!(created.json()["size"], 20);

    let full = call(
        &app,
        Method::GET,
        "/v1/files/notes/today.txt",
        Some(&token),
        None,
    )
    .await;
    assert_eq!(full.status, StatusCode::OK);
    assert_eq!(full.body, Bytes::from_static(data));
    assert_eq!(full.headers[header::CONTENT_TYPE], "text/plain");
    assert_eq!(full.headers[header::CONTENT_LENGTH], "20");
    assert_eq!(full.headers[header::ACCEPT_RANGES], "bytes");

    let ranged = |range: &'static str| {
        request(Method::GET, "/v1/files/notes/today.txt", Some(&token))
            .header(header::RANGE, range)
            .body(Body::empty())
            .unwrap()
    };
    let part = send(&app, ranged("bytes=2-5")).await;
    assert_eq!(part.status, StatusCode::PARTIAL_CONTENT);
    assert_eq!(part.body, Bytes::from_static(b"2345"));
    assert_eq!(part.headers[header::CONTENT_RANGE], "bytes 2-5/20");
    let tail = send(&app, ranged("bytes=-3")).await;
    assert_eq!(
        (tail.status, tail.body.clone()),
        (StatusCode::PARTIAL_CONTENT, Bytes::from_static(b"hij"))
    );
    let beyond = send(&app, ranged("bytes=50-")).await;
    assert_eq!(beyond.status, StatusCode::RANGE_NOT_SATISFIABLE);
    assert_eq!(beyond.headers[header::CONTENT_RANGE], "bytes */20");
    assert_eq!(
        send(&app, ranged("bytes=x-y")).await.status,
        StatusCode::BAD_REQUEST
    );

    let head = call(
        &app,
        Method::HEAD,
        "/v1/files/notes/today.txt",
        Some(&token),
        None,
    )
    .await;
    assert_eq!(head.status, StatusCode::OK);
    assert_eq!(head.headers[header::CONTENT_LENGTH], "20");
    assert!(head.body.is_empty());

    upload(&app, &token, "notes/tomorrow.txt", b"later").await;
    upload(&app, &token, "photos/cat.txt", b"meow").await;
    let listed = call(
        &app,
        Method::GET,
        "/v1/files?prefix=notes/",
        Some(&token),
        None,
    )
    .await;
    assert_eq!(listed.status, StatusCode::OK, "{}", listed.text());
    let keys: Vec<String> = listed.json()["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["key"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(keys, ["notes/today.txt", "notes/tomorrow.txt"]);
    let page = call(&app, Method::GET, "/v1/files?limit=1", Some(&token), None)
        .await
        .json();
    let cursor = page["next_cursor"].as_str().unwrap().to_owned();
    let next = call(
        &app,
        Method::GET,
        &format!("/v1/files?limit=1&cursor={cursor}"),
        Some(&token),
        None,
    )
    .await
    .json();
    assert_ne!(page["files"][0]["key"], next["files"][0]["key"]);

    assert_eq!(
        call(
            &app,
            Method::DELETE,
            "/v1/files/notes/today.txt",
            Some(&token),
            None
        )
        .await
        .status,
        StatusCode::NO_CONTENT
    );
    let gone = call(
        &app,
        Method::GET,
        "/v1/files/notes/today.txt",
        Some(&token),
        None,
    )
    .await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND);
    assert_eq!(gone.kind(), "not_found");
}

#[tokio::test]
async fn users_cannot_reach_each_others_files_and_bad_keys_are_400() {
    let app = app().await;
    let alice = login(&app, "alice").await;
    let bob = login(&app, "bob").await;
    upload(&app, &alice, "secret.txt", b"alice only").await;

    assert_eq!(
        call(&app, Method::GET, "/v1/files/secret.txt", Some(&bob), None)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert!(
        call(&app, Method::GET, "/v1/files", Some(&bob), None)
            .await
            .json()["files"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    for uri in [
        "/v1/files/../alice/secret.txt",
        "/v1/files/a/../../alice/secret.txt",
        "/v1/files/a//b",
        "/v1/files/%2E%2E/x",
    ] {
        let reply = call(&app, Method::GET, uri, Some(&bob), None).await;
        assert_eq!(
            reply.status,
            StatusCode::BAD_REQUEST,
            "{uri}: {}",
            reply.text()
        );
        assert_eq!(reply.kind(), "invalid_input");
    }
    let bad_prefix = call(&app, Method::GET, "/v1/files?prefix=../", Some(&bob), None).await;
    assert_eq!(bad_prefix.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn create_only_uploads_conflict() {
    let app = app().await;
    let token = login(&app, "carol").await;
    let create = |data: &'static [u8]| {
        request(Method::PUT, "/v1/files/once.txt", Some(&token))
            .header(header::IF_NONE_MATCH, "*")
            .body(Body::from(data))
            .unwrap()
    };
    assert_eq!(
        send(&app, create(b"first")).await.status,
        StatusCode::CREATED
    );
    let conflict = send(&app, create(b"second")).await;
    assert_eq!(conflict.status, StatusCode::CONFLICT);
    assert_eq!(conflict.kind(), "already_exists");
    let kept = call(&app, Method::GET, "/v1/files/once.txt", Some(&token), None).await;
    assert_eq!(kept.body, Bytes::from_static(b"first"));
}

#[tokio::test]
async fn oversized_uploads_are_413_and_leave_nothing() {
    let app = app_with(ServerConfig::default().with_max_upload_bytes(8)).await;
    let token = login(&app, "dave").await;

    // Declared too large: refused before reading.
    let declared = upload(&app, &token, "big.bin", b"0123456789").await;
    assert_eq!(
        declared.status,
        StatusCode::PAYLOAD_TOO_LARGE,
        "{}",
        declared.text()
    );

    // Streamed without a length: refused once the limit is crossed.
    let chunks = futures::stream::iter(vec![
        Ok::<_, std::io::Error>(Bytes::from_static(b"01234")),
        Ok(Bytes::from_static(b"56789")),
    ]);
    let streamed = send(
        &app,
        request(Method::PUT, "/v1/files/big.bin", Some(&token))
            .body(Body::from_stream(chunks))
            .unwrap(),
    )
    .await;
    assert_eq!(
        streamed.status,
        StatusCode::PAYLOAD_TOO_LARGE,
        "{}",
        streamed.text()
    );
    assert_eq!(streamed.kind(), "payload_too_large");
    let absent = call(&app, Method::GET, "/v1/files/big.bin", Some(&token), None).await;
    assert_eq!(absent.status, StatusCode::NOT_FOUND);

    let fits = upload(&app, &token, "small.bin", b"01234567").await;
    assert_eq!(fits.status, StatusCode::CREATED);
}
