//! The mock answers what the captures in `fixtures/apiserver-captures/` say a real API server
//! answers, byte for byte where it answers on its own (unserved paths, watch headers), and
//! filters by selector as the server does.

use std::time::Duration;

use backstop_test_support::apiserver::planned;
use backstop_test_support::apiserver::{
    Answer, Call, Captured, MockApiServer, custom_list, watch_event,
};
use backstop_test_support::captures::capture_file;
use http::{Method, Request};
use http_body_util::BodyExt;
use hyper::body::Frame;
use serde_json::{Value, json};

const UNSERVED: &str = "01-unserved-group-404-text-plain.json";

/// Sends `method path?query` with kube-rs's client and returns status, Content-Type and body.
async fn call(client: &kube::Client, method: &str, path_and_query: &str) -> (u16, String, String) {
    let request = Request::builder()
        .method(method)
        .uri(path_and_query)
        .body(kube::client::Body::empty())
        .expect("a request");
    let response = client.send(request).await.expect("an answer");
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let body = response
        .into_body()
        .collect()
        .await
        .expect("a body")
        .to_bytes();
    (
        status,
        content_type,
        String::from_utf8_lossy(&body).into_owned(),
    )
}

fn target(exchange: &Value) -> String {
    let request = &exchange["request"];
    let path = request["path"].as_str().expect("a path");
    match request["query"].as_str().unwrap_or_default() {
        "" => path.to_string(),
        query => format!("{path}?{query}"),
    }
}

#[tokio::test]
async fn every_unserved_request_of_capture_01_gets_the_captured_text_plain_404() {
    let server = MockApiServer::start().await;
    let client = server.client();
    let exchanges = capture_file(UNSERVED)["exchanges"]
        .as_array()
        .expect("exchanges")
        .clone();
    assert_eq!(exchanges.len(), 7);
    for (at, exchange) in exchanges.iter().enumerate() {
        let captured = Captured::response(UNSERVED, at);
        let (status, content_type, body) = call(&client, "GET", &target(exchange)).await;
        assert_eq!(status, captured.status, "exchange {at}");
        assert_eq!(Some(content_type.as_str()), captured.header("Content-Type"));
        assert_eq!(body, "404 page not found\n");
        assert_eq!(body, captured.body, "exchange {at}");
    }
    assert_eq!(server.unrouted().len(), 7, "each one recorded as unrouted");
}

#[tokio::test]
async fn a_watch_carries_capture_10s_headers_and_one_event_per_line() {
    let server = MockApiServer::start().await;
    let path = "/apis/velero.io/v1/namespaces/velero/restores";
    let capture = capture_file("10-restore-watch-lifecycle-status-patch-bookmark.json");
    let events = capture["exchanges"][1]["response"]["events"]
        .as_array()
        .expect("events")
        .clone();
    server.route(
        Method::GET,
        path,
        Call::Watch,
        vec![Answer::Watch(events.clone())],
    );
    let request = Request::get(format!("{path}?watch=true&resourceVersion=280"))
        .body(kube::client::Body::empty())
        .expect("a request");
    let response = server.client().send(request).await.expect("a watch");
    let captured = Captured::response("10-restore-watch-lifecycle-status-patch-bookmark.json", 1);
    assert_eq!(response.status().as_u16(), 200);
    for (name, value) in &captured.headers {
        assert_eq!(
            response.headers().get(name).and_then(|v| v.to_str().ok()),
            Some(value.as_str()),
            "{name}"
        );
    }
    let mut body = response.into_body();
    let mut text = String::new();
    while text.lines().count() < events.len() {
        let frame = tokio::time::timeout(Duration::from_secs(5), body.frame())
            .await
            .expect("the events arrive")
            .expect("the watch stays open")
            .expect("a frame");
        text.push_str(&String::from_utf8_lossy(
            &Frame::into_data(frame).expect("data"),
        ));
    }
    let sent: Vec<Value> = text
        .lines()
        .map(|line| serde_json::from_str(line).expect("one JSON event per line"))
        .collect();
    assert_eq!(sent, events);
    // And it stays open: nothing more, no end, until the test ends it.
    assert!(
        tokio::time::timeout(Duration::from_millis(100), body.frame())
            .await
            .is_err()
    );
    assert_eq!(server.open_watch_count(path), 1);
    server.end_watches(path);
    assert!(body.frame().await.is_none(), "ended as at timeoutSeconds");
}

#[tokio::test]
async fn a_list_and_a_watch_keep_only_what_the_selectors_select() {
    let path = "/apis/velero.io/v1/namespaces/velero/backups";
    let backup = |name: &str, schedule: &str| {
        json!({"apiVersion": "velero.io/v1", "kind": "Backup",
               "metadata": {"name": name, "namespace": "velero",
                            "labels": {"velero.io/schedule-name": schedule}}})
    };
    let items = [backup("daily-1", "daily"), backup("hourly-1", "hourly")];
    let list = custom_list("velero.io/v1", "Backup", "400", &items);
    // The status and headers of capture 03's RestoreList (exchange 3).
    let answer =
        Captured::response("03-get-missing-object-and-missing-namespace.json", 3).with_json(&list);
    let server = MockApiServer::start().await;
    server.get(path, answer.clone());
    let client = server.client();

    let (_, _, body) = call(
        &client,
        "GET",
        &format!("{path}?labelSelector=velero.io%2Fschedule-name%3Ddaily"),
    )
    .await;
    let names: Vec<Value> = serde_json::from_str::<Value>(&body).expect("JSON")["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|item| item["metadata"]["name"].clone())
        .collect();
    assert_eq!(names, [json!("daily-1")]);
    let (_, _, body) = call(&client, "GET", path).await;
    assert_eq!(body, answer.body, "no selector: the body as given");

    server.open_watches(path);
    let request = Request::get(format!(
        "{path}?watch=true&labelSelector=velero.io%2Fschedule-name%3Ddaily"
    ))
    .body(kube::client::Body::empty())
    .expect("a request");
    let mut watch = client.send(request).await.expect("a watch").into_body();
    assert_eq!(server.send(path, &watch_event("ADDED", &items[1])), 0);
    assert_eq!(server.send(path, &watch_event("ADDED", &items[0])), 1);
    let frame = tokio::time::timeout(Duration::from_secs(5), watch.frame())
        .await
        .expect("the selected event arrives")
        .expect("open")
        .expect("a frame");
    let line = Frame::into_data(frame).expect("data");
    assert_eq!(
        serde_json::from_slice::<Value>(&line).expect("JSON")["object"]["metadata"]["name"],
        "daily-1"
    );

    // The planned server filters the same way, and records the query.
    let planned = planned::MockApiServer::new().on(
        "GET",
        path,
        planned::Answer {
            status: 200,
            content_type: Some("application/json".into()),
            body: answer.body.clone(),
            events: None,
        },
    );
    let (client, _) = planned.start().await;
    let (_, _, body) = call(
        &client,
        "GET",
        &format!("{path}?fieldSelector=metadata.name%3Dhourly-1"),
    )
    .await;
    assert!(
        body.contains("hourly-1") && !body.contains("daily-1"),
        "{body}"
    );
    assert_eq!(
        planned.requests(),
        [format!("GET {path}?fieldSelector=metadata.name%3Dhourly-1")]
    );
}

#[tokio::test]
async fn a_planned_route_answers_once_then_hands_over_and_unrouted_watches_stay_silent() {
    let path = "/api/v1/namespaces/drill";
    let gone = planned::captured("03-get-missing-object-and-missing-namespace", 0);
    let created = planned::captured("02-create-namespace-201-then-409", 0);
    let server = planned::MockApiServer::new()
        .once("GET", path, created.clone())
        .on("GET", path, gone.clone());
    let (client, _) = server.start().await;
    assert_eq!(call(&client, "GET", path).await.0, created.status);
    assert_eq!(call(&client, "GET", path).await.0, gone.status);
    assert_eq!(call(&client, "GET", path).await.0, gone.status);

    let request = Request::get("/api/v1/namespaces?watch=true&resourceVersion=999999")
        .body(kube::client::Body::empty())
        .expect("a request");
    let response = client.send(request).await.expect("a watch");
    assert_eq!(response.status().as_u16(), 200, "capture 11, exchange 2");
    let mut body = response.into_body();
    assert!(
        tokio::time::timeout(Duration::from_millis(100), body.frame())
            .await
            .is_err(),
        "silent"
    );
}
