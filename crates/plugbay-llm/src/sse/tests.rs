//! Tests of the SSE decoder and stream.

use super::*;
use futures::StreamExt;
use std::time::Duration;

fn data_of(events: &[SseEvent]) -> Vec<String> {
    events
        .iter()
        .map(|e| e.data_str().unwrap().to_owned())
        .collect()
}

#[test]
fn every_line_ending_and_field_form() {
    let body = b"data: a\n\ndata:b\r\n\r\ndata:  c\r\rid: 7\nevent: x\ndata\n\nretry: 1500\n: note\ndata: d\n\n";
    let events = decode_all(body).unwrap();
    assert_eq!(data_of(&events), vec!["a", "b", " c", "", "d"]);
    assert_eq!(events[3].event(), "x");
    assert_eq!(events[3].id(), Some("7"));
    assert_eq!(events[4].id(), Some("7"), "ids persist");
    assert_eq!(events[4].event(), "message", "event type resets");
    assert_eq!(events[4].retry(), Some(Duration::from_millis(1500)));
}

#[test]
fn multi_line_data_joins_and_events_without_data_are_dropped() {
    let events =
        decode_all(b"event: ping\n\ndata: {\"a\":\ndata: 1}\n\n:only a comment\n\n").unwrap();
    assert_eq!(data_of(&events), vec!["{\"a\":\n1}"]);
}

#[test]
fn any_split_of_the_input_gives_the_same_events() {
    let body: &[u8] =
        b"\xEF\xBB\xBFdata: {\"x\":\"\xC3\xA9\"}\r\n\r\ndata: two\r\ndata: lines\r\n\r\n: ka\r\ndata: [DONE]\r\n\r\n";
    let whole = decode_all(body).unwrap();
    assert_eq!(
        data_of(&whole),
        vec!["{\"x\":\"é\"}", "two\nlines", "[DONE]"]
    );
    for split in 1..body.len() {
        let mut decoder = SseDecoder::new();
        let mut got = Vec::new();
        for part in [&body[..split], &body[split..]] {
            decoder.push(part);
            while let Some(e) = decoder.next_event().unwrap() {
                got.push(e);
            }
        }
        got.extend(decoder.finish());
        assert_eq!(got, whole, "split at {split}");
    }
    // Byte by byte too.
    let mut decoder = SseDecoder::new();
    let mut got = Vec::new();
    for b in body {
        decoder.push(std::slice::from_ref(b));
        while let Some(e) = decoder.next_event().unwrap() {
            got.push(e);
        }
    }
    assert_eq!(got, whole);
}

/// Lone `data:` events (the one-step path) and every other shape,
/// mixed, give the same events whole and at any split.
#[test]
fn single_data_events_match_the_line_path() {
    let body: &[u8] = b"id: 1\ndata: a\n\ndata: b\n\ndata:c\n\ndata:\n\ndata: d\r\n\r\nretry: 7\ndata: e\n\nevent: x\ndata: f\n\ndata: g\ndata: h\n\ndata: i\n\r\ndata: j\r\rdata: k\n\n";
    let whole = decode_all(body).unwrap();
    assert_eq!(
        data_of(&whole),
        vec!["a", "b", "c", "", "d", "e", "f", "g\nh", "i", "j", "k"]
    );
    assert!(whole.iter().all(|e| e.id() == Some("1")), "ids persist");
    assert_eq!(whole[3].retry(), None);
    assert_eq!(whole[5].retry(), Some(Duration::from_millis(7)));
    assert_eq!(whole[10].retry(), Some(Duration::from_millis(7)));
    assert_eq!(whole[6].event(), "x");
    assert_eq!(whole[7].event(), "message");
    for split in 1..body.len() {
        let mut decoder = SseDecoder::new();
        let mut got = Vec::new();
        for part in [&body[..split], &body[split..]] {
            decoder.push(part);
            while let Some(e) = decoder.next_event().unwrap() {
                got.push(e);
            }
        }
        got.extend(decoder.finish());
        assert_eq!(got, whole, "split at {split}");
    }
}

/// Lent events (`next_event_with`) are the events `next_event` returns,
/// for every shape, whole and at any split.
#[test]
fn lent_events_match_returned_events() {
    let body: &[u8] = b"\xEF\xBB\xBFid: 1\ndata: a\n\ndata:c\n\ndata:\n\ndata: d\r\n\r\nretry: 7\ndata: e\n\nevent: x\ndata: f\n\ndata: g\ndata: h\n\ndata: i\n\r\ndata: j\r\rdata: [DONE]\n\n";
    let whole = decode_all(body).unwrap();
    assert_eq!(whole.len(), 10);
    for split in 0..body.len() {
        let mut decoder = SseDecoder::new();
        let mut got = Vec::new();
        for part in [&body[..split], &body[split..]] {
            decoder.push(part);
            while let Some(e) = decoder.next_event_with(|e| e.to_owned_event()).unwrap() {
                got.push(e);
            }
        }
        got.extend(decoder.finish());
        assert_eq!(got, whole, "split at {split}");
    }
    let view = whole[5].view();
    assert_eq!(
        (view.event(), view.data(), view.id()),
        ("x", &b"f"[..], Some("1"))
    );
    assert_eq!(view.retry(), Some(Duration::from_millis(7)));
    assert!(whole[9].view().is_done() && !view.is_done());
}

#[test]
fn end_of_input_dispatches_a_pending_event() {
    assert_eq!(data_of(&decode_all(b"data: last").unwrap()), vec!["last"]);
    assert_eq!(data_of(&decode_all(b"data: x\r").unwrap()), vec!["x"]);
    assert!(decode_all(b"event: only\n").unwrap().is_empty());
}

#[test]
fn overlong_lines_are_protocol_errors() {
    let mut decoder = SseDecoder::new().with_max_line_bytes(8);
    decoder.push(b"data: 0123456789");
    assert_eq!(
        decoder.next_event().unwrap_err().kind(),
        ErrorKind::Protocol
    );
    let mut ok = SseDecoder::new().with_max_line_bytes(8);
    ok.push(b"data: 1\n\n");
    assert!(ok.next_event().unwrap().is_some());
}

#[tokio::test]
async fn stream_yields_events_and_passes_errors_through() {
    let chunks: Vec<Result<Bytes>> = vec![
        Ok(Bytes::from_static(b"data: a\n")),
        Ok(Bytes::from_static(b"\ndata: b\n\n")),
        Err(Error::new(ErrorKind::Unavailable, "reset")),
        Ok(Bytes::from_static(b"data: never\n\n")),
    ];
    let items: Vec<Result<SseEvent>> = SseStream::new(futures::stream::iter(chunks))
        .collect()
        .await;
    assert_eq!(items.len(), 3);
    assert_eq!(items[0].as_ref().unwrap().data_str().unwrap(), "a");
    assert_eq!(items[1].as_ref().unwrap().data_str().unwrap(), "b");
    assert_eq!(
        items[2].as_ref().unwrap_err().kind(),
        ErrorKind::Unavailable
    );
}

#[tokio::test]
async fn stream_flushes_the_last_event_at_end() {
    let chunks: Vec<Result<Bytes>> = vec![Ok(Bytes::from_static(b"data: a\n\ndata: b"))];
    let items: Vec<String> = SseStream::new(futures::stream::iter(chunks))
        .map(|e| e.unwrap().data_str().unwrap().to_owned())
        .collect()
        .await;
    assert_eq!(items, vec!["a", "b"]);
}
