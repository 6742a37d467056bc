//! `list-charges` against the sandbox and moto, over real HTTP.

use bundle_tests::{Answer, Event, Function, World};
use serde_json::json;

async fn list(world: &World, query: &str) -> Answer {
    let request = Event::new("GET", "/charges")
        .query(query)
        .request("req-list");
    world.invoke(Function::ListCharges, request).await
}

/// Three charges made straight at the sandbox, ids oldest first.
async fn three_charges(world: &World) -> Vec<String> {
    let mut ids = Vec::new();
    for (i, amount) in [100, 200, 300].into_iter().enumerate() {
        ids.push(world.charge_at_qbit(amount, &format!("o{i}")).await);
    }
    ids
}

fn ids(answer: &Answer) -> Vec<String> {
    answer.json()["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn pages_newest_first_with_both_cursors() {
    let world = World::start().await;
    let created = three_charges(&world).await;
    let (oldest, middle, newest) = (&created[0], &created[1], &created[2]);

    let first = list(&world, "limit=2").await;
    assert_eq!(first.status, 200, "{}", first.text);
    assert_eq!(first.header("x-request-id"), Some("req-list"));
    assert_eq!(ids(&first), vec![newest.to_string(), middle.to_string()]);
    assert_eq!(first.json()["object"], "list");
    assert_eq!(first.json()["url"], "/api/v1/charges");
    assert_eq!(first.json()["has_more"], true);

    let next = list(&world, &format!("limit=2&starting_after={middle}")).await;
    assert_eq!(ids(&next), vec![oldest.to_string()]);
    assert_eq!(next.json()["has_more"], false);

    let previous = list(&world, &format!("limit=1&ending_before={oldest}")).await;
    assert_eq!(ids(&previous), vec![middle.to_string()]);
    assert_eq!(previous.json()["has_more"], true);

    let default_page = list(&world, "").await;
    assert_eq!(ids(&default_page).len(), 3);

    // Four lists, each one call with Basic auth; no token needed to list.
    assert_eq!(
        world.calls(),
        json!({"GET /api/v1/charges": 4, "POST /api/v1/charges": 3})
    );
}

#[tokio::test]
async fn the_list_is_passed_on_byte_for_byte() {
    let world = World::start().await;
    three_charges(&world).await;
    let ours = list(&world, "limit=3").await;
    let theirs = reqwest::Client::new()
        .get(format!("{}/api/v1/charges?limit=3", world.sandbox.url()))
        .basic_auth(&world.api_key, Some(""))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(ours.text, theirs);
}

#[tokio::test]
async fn the_sample_event_lists() {
    let world = World::start().await;
    three_charges(&world).await;
    let request = Event::file("list-charges.json").request("r");
    let answer = world.invoke(Function::ListCharges, request).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert_eq!(ids(&answer).len(), 3);
}

#[tokio::test]
async fn bad_queries_are_refused_before_any_call_to_qbit() {
    let world = World::start().await;
    let cases = [
        ("limit=0", Some("limit")),
        ("limit=101", Some("limit")),
        ("limit=ten", Some("limit")),
        ("limit=-5", Some("limit")),
        ("limit=", Some("limit")),
        ("limit=1&limit=2", Some("limit")),
        ("limt=5", Some("limt")),
        ("starting_after=", Some("starting_after")),
        ("ending_before=a%20b", Some("ending_before")),
        ("starting_after=a&ending_before=b", None),
    ];
    for (query, field) in cases {
        let answer = list(&world, query).await;
        assert_eq!(answer.status, 400, "{query}: {}", answer.text);
        let error = answer.json();
        assert_eq!(error["type"], "invalid_request_error");
        assert_eq!(error["detail"]["field"].as_str(), field, "{query}: {error}");
    }
    let both = list(&world, "starting_after=a&ending_before=b")
        .await
        .json();
    assert_eq!(
        both["message"],
        "starting_after and ending_before cannot be used together; send one of them"
    );
    assert_eq!(world.calls(), json!({}));
}

#[tokio::test]
async fn an_unknown_cursor_is_qbits_404() {
    let world = World::start().await;
    let answer = list(&world, "starting_after=nosuchcharge").await;
    assert_eq!(answer.status, 404, "{}", answer.text);
    let error = answer.json();
    assert_eq!(error["type"], "invalid_request_error");
    assert_eq!(error["detail"]["upstream"]["status"], 404);
    assert_eq!(
        error["detail"]["upstream"]["message"],
        "No such charge: 'nosuchcharge'"
    );
}
