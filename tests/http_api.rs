//! The HTTP example (`examples/http_api/`) run in-process on a loopback port, with QuickBlox's
//! curl examples replayed against it: their headers, bodies and query strings as written (only
//! the host changed), checking status codes and that every key of QuickBlox's answers is there,
//! with the values the created data calls for.

#[path = "../examples/http_api/service.rs"]
mod service;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;

use dialogstore::{DialogStore, ManualClock, MessageMeta, UserId};
use serde_json::{json, Value};

/// 2019-09-08T17:24:11Z, the `created_at` of QuickBlox's first listed dialog.
const T: i64 = 1_567_963_451;
const T_ISO: &str = "2019-09-08T17:24:11Z";

const PRIVATE_TOKEN: &str = "eddf864695d72d33b959eec2ae6c640d817dfada";
const PARTY_TOKEN: &str = "1319b4991186601ccf4df2d0fa89565f68012bba";
const DATA_TOKEN: &str = "2e80acd7f3d9c1e79312e0d1dafd6691ba012bba";
const API_KEY: &str = "ApiKey 28irlNAGasWDSupO9Vw0BBMZfuHrAUYKpmroS9yBORI";

// QuickBlox's example bodies, byte for byte (trailing spaces after `{` included).
const PRIVATE_BODY: &str = "{  \n  \"type\":3,\n  \"occupants_ids\":\"102433721\"\n}";
const PUBLIC_BODY: &str =
    "{  \n  \"type\":1,\n  \"name\":\"Soccer news\",\n  \"photo\":\"67834\"\n}";
const GROUP_BODY: &str = "{  \n  \"type\":2,\n  \"name\":\"New Year party\",\n  \"occupants_ids\":\"96831397,96831328,96830631,96754523\",\n  \"photo\":\"68123\"\n}";
/// As QuickBlox's page prints it, with a trailing comma after `"progress":"56"`: not JSON.
const DATA_BODY_AS_PRINTED: &str = "{ \n  \"type\":2,\n  \"name\":\"Chat with Bob, Sam, Garry\",\n  \"occupants_ids\":\"96754523,96830631,96831328\",\n  \"data\":{ \n      \"class_name\":\"ScoreTable\",\n      \"game_mode_name\":\"rainbow dash\",\n      \"expert_mode\":\"3\",\n      \"progress\":\"56\",\n  }\n}";

/// Every key of QuickBlox's dialog answers (create and list).
const SEED_DIALOG_KEYS: [&str; 15] = [
    "_id",
    "created_at",
    "last_message",
    "last_message_date_sent",
    "last_message_id",
    "last_message_user_id",
    "name",
    "occupants_ids",
    "photo",
    "type",
    "updated_at",
    "user_id",
    "xmpp_room_jid",
    "unread_messages_count",
    // Not in QuickBlox's sample answers, but in its dialog model.
    "admin_ids",
];

/// The service on a loopback port, with its store for setting up messages.
struct Server {
    addr: SocketAddr,
    store: Arc<DialogStore>,
    // Keeps the server running until the test ends.
    _rt: tokio::runtime::Runtime,
}

impl Server {
    fn start() -> Server {
        let clock = Arc::new(ManualClock::new(T));
        let store = Arc::new(
            DialogStore::builder()
                .app_id(76730)
                .muc_domain("muc.chat.quickblox.com")
                .clock(clock)
                .in_memory()
                .unwrap(),
        );
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let listener = rt.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).unwrap();
        let addr = listener.local_addr().unwrap();
        let app = service::router(store.clone(), service::Auth::seeds());
        rt.spawn(async move { axum::serve(listener, app).await });
        Server { addr, store, _rt: rt }
    }

    /// One HTTP/1.1 request with `Connection: close`; the status and the JSON body.
    fn send(&self, method: &str, target: &str, headers: &[(&str, &str)], body: &str) -> Answer {
        let mut req =
            format!("{method} {target} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n", self.addr);
        for (k, v) in headers {
            req.push_str(&format!("{k}: {v}\r\n"));
        }
        if !body.is_empty() {
            req.push_str(&format!("Content-Length: {}\r\n", body.len()));
        }
        req.push_str("\r\n");
        req.push_str(body);
        let mut stream = TcpStream::connect(self.addr).unwrap();
        stream.write_all(req.as_bytes()).unwrap();
        let mut raw = String::new();
        stream.read_to_string(&mut raw).unwrap();
        let (head, body) = raw.split_once("\r\n\r\n").unwrap_or((&raw, ""));
        let status = head.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
        let json = if body.is_empty() { Value::Null } else { serde_json::from_str(body).unwrap() };
        Answer { status, json, request: format!("{method} {target}") }
    }

    fn as_token(&self, method: &str, target: &str, token: &str, body: &str) -> Answer {
        let mut headers = vec![("QB-Token", token)];
        if !body.is_empty() {
            headers.push(("Content-Type", "application/json"));
        }
        self.send(method, target, &headers, body)
    }

    fn as_api_key(&self, method: &str, target: &str, user: &str, body: &str) -> Answer {
        let headers = [
            ("Content-Type", "application/json"),
            ("Authorization", API_KEY),
            ("On-Behalf-Of", user),
        ];
        self.send(method, target, &headers, body)
    }
}

#[derive(Debug)]
struct Answer {
    status: u16,
    json: Value,
    request: String,
}

impl Answer {
    /// Asserts the status, and that an error answer is `{"errors": ["CODE: ..."]}`.
    fn expect(self, status: u16, code: Option<&str>) -> Value {
        assert_eq!(self.status, status, "{}: {}", self.request, self.json);
        if let Some(code) = code {
            let errors = self.json["errors"].as_array().unwrap_or_else(|| panic!("{self:?}"));
            assert_eq!(errors.len(), 1, "{self:?}");
            let text = errors[0].as_str().unwrap();
            assert!(text.starts_with(&format!("{code}: ")), "{}: {text}", self.request);
        }
        self.json
    }
}

fn assert_seed_keys(dialog: &Value) {
    for key in SEED_DIALOG_KEYS {
        assert!(dialog.get(key).is_some(), "no {key} in {dialog}");
    }
}

fn jid(id: &Value) -> Value {
    json!(format!("76730_{}@muc.chat.quickblox.com", id.as_str().unwrap()))
}

/// QuickBlox's create-dialog page, every recipe, in order.
#[test]
fn create_dialog_recipes() {
    let s = Server::start();

    // Private: the token's user 102433734 with 102433721, as QuickBlox's answer lists them.
    let private =
        s.as_token("POST", "/chat/Dialog.json", PRIVATE_TOKEN, PRIVATE_BODY).expect(201, None);
    assert_seed_keys(&private);
    assert_eq!(private["type"], 3);
    assert_eq!(private["occupants_ids"], json!([102433721, 102433734]));
    assert_eq!(private["user_id"], 102433734);
    assert_eq!(private["created_at"], T_ISO);
    assert_eq!(private["updated_at"], T_ISO);
    for null in [
        "name",
        "photo",
        "xmpp_room_jid",
        "last_message",
        "last_message_date_sent",
        "last_message_id",
        "last_message_user_id",
        "unread_messages_count",
    ] {
        assert_eq!(private[null], Value::Null, "{null}");
    }
    assert_eq!(private["_id"].as_str().unwrap().len(), 24);
    // The same request again answers the same dialog.
    let again =
        s.as_token("POST", "/chat/Dialog.json", PRIVATE_TOKEN, PRIVATE_BODY).expect(201, None);
    assert_eq!(again["_id"], private["_id"]);

    // Public.
    let public =
        s.as_token("POST", "/chat/Dialog.json", PRIVATE_TOKEN, PUBLIC_BODY).expect(201, None);
    assert_seed_keys(&public);
    assert_eq!(public["type"], 1);
    assert_eq!(public["name"], "Soccer news");
    assert_eq!(public["photo"], "67834");
    assert_eq!(public["occupants_ids"], json!([]));
    assert_eq!(public["xmpp_room_jid"], jid(&public["_id"]));

    // Group.
    let group = s.as_token("POST", "/chat/Dialog.json", PARTY_TOKEN, GROUP_BODY).expect(201, None);
    assert_seed_keys(&group);
    assert_eq!(group["type"], 2);
    assert_eq!(group["name"], "New Year party");
    assert_eq!(group["photo"], "68123");
    assert_eq!(group["user_id"], 96753878);
    assert_eq!(group["occupants_ids"], json!([96753878, 96754523, 96830631, 96831328, 96831397]));
    assert_eq!(group["xmpp_room_jid"], jid(&group["_id"]));

    // Custom data: as printed, the trailing comma makes it bad JSON; without it, it is created.
    s.as_token("POST", "/chat/Dialog.json", DATA_TOKEN, DATA_BODY_AS_PRINTED)
        .expect(422, Some("VALIDATION"));
    let fixed = DATA_BODY_AS_PRINTED.replace("\"progress\":\"56\",", "\"progress\":\"56\"");
    let data = s.as_token("POST", "/chat/Dialog.json", DATA_TOKEN, &fixed).expect(201, None);
    assert_seed_keys(&data);
    assert_eq!(data["name"], "Chat with Bob, Sam, Garry");
    assert_eq!(data["occupants_ids"], json!([96754523, 96830631, 96831328, 96831397]));
    assert_eq!(
        data["data"],
        json!({"class_name": "ScoreTable", "game_mode_name": "rainbow dash", "expert_mode": "3", "progress": "56"})
    );

    // The API key acting on behalf of user 123: the group, then the public dialog.
    let by_key = s.as_api_key("POST", "/chat/Dialog.json", "123", GROUP_BODY).expect(201, None);
    assert_eq!(by_key["user_id"], 123);
    assert_eq!(by_key["occupants_ids"], json!([123, 96754523, 96830631, 96831328, 96831397]));
    let by_key = s.as_api_key("POST", "/chat/Dialog.json", "123", PUBLIC_BODY).expect(201, None);
    assert_eq!((by_key["user_id"].clone(), by_key["type"].clone()), (json!(123), json!(1)));
}

/// QuickBlox's list-dialogs page: the curl example and every query string of its operator
/// table, over data shaped like the page's answer.
#[test]
fn list_dialogs_recipes() {
    let s = Server::start();
    let party = s.as_token("POST", "/chat/Dialog.json", PARTY_TOKEN, GROUP_BODY).expect(201, None);
    let birthday_body = GROUP_BODY.replace("New Year party", "Daniel's birthday");
    let birthday =
        s.as_token("POST", "/chat/Dialog.json", PARTY_TOKEN, &birthday_body).expect(201, None);
    s.as_token("POST", "/chat/Dialog.json", PRIVATE_TOKEN, PUBLIC_BODY).expect(201, None);
    // The messages of QuickBlox's answer, sent by the owner.
    for (dialog, id, text, sent) in [
        (&birthday, "5d75583fa0eb473c350b72ab", "let's do it at 7pm", 1_567_971_391),
        (&party, "5d755856a0eb47411e0b72a9", "sure, I can wait", 1_567_971_414),
    ] {
        let meta = MessageMeta { id: id.into(), text: text.into(), date_sent: sent };
        let dialog_id = dialog["_id"].as_str().unwrap().parse().unwrap();
        s.store.record_message(dialog_id, UserId(96753878), meta).unwrap();
    }

    // The curl example: `?limit=2` with the example's token.
    let page = s.as_token("GET", "/chat/Dialog.json?limit=2", PARTY_TOKEN, "").expect(200, None);
    assert_eq!(page["total_entries"], 3);
    assert_eq!((page["skip"].clone(), page["limit"].clone()), (json!(0), json!(2)));
    let items = page["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    for item in items {
        assert_seed_keys(item);
        assert_eq!(item["unread_messages_count"], 0);
        assert_eq!(
            item["occupants_ids"],
            json!([96753878, 96754523, 96830631, 96831328, 96831397])
        );
        assert_eq!(item["photo"], "68123");
        assert_eq!(item["type"], 2);
        assert_eq!(item["user_id"], 96753878);
        assert_eq!(item["last_message_user_id"], 96753878);
        assert_eq!(item["created_at"], T_ISO);
        assert_eq!(item["xmpp_room_jid"], jid(&item["_id"]));
    }
    assert_eq!(items[0]["name"], "New Year party");
    assert_eq!(items[0]["last_message"], "sure, I can wait");
    assert_eq!(items[0]["last_message_date_sent"], 1_567_971_414);
    assert_eq!(items[0]["last_message_id"], "5d755856a0eb47411e0b72a9");
    assert_eq!(items[1]["name"], "Daniel's birthday");
    assert_eq!(items[1]["last_message"], "let's do it at 7pm");

    // The operator table's examples as written; QuickBlox's times are of May 2019, before this
    // data, and their user ids are strangers. (A space cannot travel raw in a request line:
    // `%20`, as curl sends it.)
    let party_id = party["_id"].as_str().unwrap();
    for (query, total) in [
        ("updated_at[lt]=1556829805", 0),
        ("last_message_date_sent[lte]=1556735709", 0),
        ("last_message_date_sent[gt]=1556735709", 2),
        ("_id[ne]=5cc9bb58a28f9a406659d777", 3),
        ("type[in]=1,2", 3),
        ("last_message_date_sent[nin]=1556739654,%201556739987", 3),
        ("occupants_ids[all]=91103344,91142495", 0),
        ("name[ctn]=party", 1),
        // The same operators on this data's values.
        ("occupants_ids[all]=96753878,96831397", 2),
        (&format!("_id[ne]={party_id}"), 2),
        ("last_message_date_sent[gt]=1567971391", 1),
        ("sort_asc=created_at", 3),
        ("sort_desc=last_message_date_sent", 3),
    ] {
        let page = s.as_token("GET", &format!("/chat/Dialog.json?{query}"), PARTY_TOKEN, "");
        let page = page.expect(200, None);
        assert_eq!(page["total_entries"], total, "{query}");
        assert_eq!(page["items"].as_array().unwrap().len(), total, "{query}");
    }
    // `sort_asc=field_name` as written names no field: a QUERY error, 422.
    for query in ["sort_asc=field_name", "sort_desc=field_name", "limit=0", "type[ctn]=2"] {
        s.as_token("GET", &format!("/chat/Dialog.json?{query}"), PARTY_TOKEN, "")
            .expect(422, Some("QUERY"));
    }
    let count = s.as_token("GET", "/chat/Dialog.json?count=1", PARTY_TOKEN, "").expect(200, None);
    assert_eq!(count, json!({"items": {"count": 3}}));
}

#[test]
fn get_update_delete_and_their_errors() {
    let s = Server::start();
    let party = s.as_token("POST", "/chat/Dialog.json", PARTY_TOKEN, GROUP_BODY).expect(201, None);
    let id = party["_id"].as_str().unwrap().to_owned();
    let one = format!("/chat/Dialog/{id}.json");

    // Get: an occupant, a stranger, no id, a bad id, an unknown id.
    let got = s.as_token("GET", &one, DATA_TOKEN, "").expect(200, None);
    assert_seed_keys(&got);
    assert_eq!((got["_id"].as_str(), got["unread_messages_count"].clone()), (Some(&*id), json!(0)));
    s.as_api_key("GET", &one, "123", "").expect(403, Some("ACCESS_ERROR"));
    s.as_token("GET", "/chat/Dialog/.json", PARTY_TOKEN, "").expect(422, Some("DIALOG_ID_EMPTY"));
    s.as_token("GET", "/chat/Dialog/5d75.json", PARTY_TOKEN, "")
        .expect(422, Some("DIALOG_ID_INVALID"));
    s.as_token("GET", "/chat/Dialog/5cc9bb58a28f9a406659d777.json", PARTY_TOKEN, "")
        .expect(404, Some("NOT_FOUND"));
    s.as_token("GET", &format!("/chat/Dialog/{id}"), PARTY_TOKEN, "")
        .expect(404, Some("NOT_FOUND"));

    // Update: any occupant renames; only the owner removes others; bad bodies are 422.
    let renamed =
        s.as_token("PUT", &one, DATA_TOKEN, r#"{"name":"New Year party 2020"}"#).expect(200, None);
    assert_eq!(renamed["name"], "New Year party 2020");
    assert_eq!(renamed["unread_messages_count"], Value::Null);
    s.as_token("PUT", &one, DATA_TOKEN, r#"{"pull_all":{"occupants_ids":[96754523]}}"#)
        .expect(403, Some("WRONG_PERMISSIONS"));
    s.as_token("PUT", &one, DATA_TOKEN, r#"{"name":}"#).expect(422, Some("VALIDATION"));
    s.as_api_key("PUT", &one, "123", r#"{"name":"mine"}"#).expect(403, Some("ACCESS_ERROR"));
    let pulled = s
        .as_token("PUT", &one, PARTY_TOKEN, r#"{"pull_all":{"occupants_ids":[96754523]}}"#)
        .expect(200, None);
    assert_eq!(pulled["occupants_ids"], json!([96753878, 96830631, 96831328, 96831397]));

    // Delete: several ids in one path; force only by the owner; leaving without force.
    let public =
        s.as_token("POST", "/chat/Dialog.json", PARTY_TOKEN, PUBLIC_BODY).expect(201, None);
    let both = format!("/chat/Dialog/{id},{}.json?force=1", public["_id"].as_str().unwrap());
    s.as_token("DELETE", &both, DATA_TOKEN, "").expect(403, Some("WRONG_PERMISSIONS"));
    s.as_token("DELETE", &one, DATA_TOKEN, "").expect(200, None);
    s.as_token("GET", &one, DATA_TOKEN, "").expect(403, Some("ACCESS_ERROR"));
    let deleted = s.as_token("DELETE", &both, PARTY_TOKEN, "").expect(200, None);
    assert_eq!(deleted["SuccessfullyDeleted"]["ids"], json!([id, public["_id"]]));
    assert_eq!(deleted["NotFound"]["ids"], json!([]));
    s.as_token("GET", &one, PARTY_TOKEN, "").expect(404, Some("NOT_FOUND"));
    s.as_token("DELETE", "/chat/Dialog/xyz.json", PARTY_TOKEN, "")
        .expect(422, Some("DIALOG_ID_INVALID"));
}

#[test]
fn credentials() {
    let s = Server::start();
    s.send("GET", "/chat/Dialog.json", &[], "").expect(401, Some("UNAUTHORIZED"));
    s.as_token("GET", "/chat/Dialog.json", "not-a-token", "").expect(401, Some("UNAUTHORIZED"));
    let wrong_key = [("Authorization", "ApiKey nope"), ("On-Behalf-Of", "123")];
    s.send("GET", "/chat/Dialog.json", &wrong_key, "").expect(401, Some("UNAUTHORIZED"));
    s.send("GET", "/chat/Dialog.json", &[("Authorization", API_KEY)], "")
        .expect(401, Some("UNAUTHORIZED"));
    s.as_api_key("GET", "/chat/Dialog.json", "bob", "").expect(422, Some("VALIDATION"));
    let empty = s.as_api_key("GET", "/chat/Dialog.json", "123", "").expect(200, None);
    assert_eq!(empty, json!({"total_entries": 0, "skip": 0, "limit": 100, "items": []}));
}

/// `GET /chat/Dialog/changes.json`: a first sync, a change, a removal, paging, the errors;
/// and `next_cursor` on list answers that ask for it.
#[test]
fn changes_and_cursor_pages() {
    let s = Server::start();
    let party = s.as_token("POST", "/chat/Dialog.json", PARTY_TOKEN, GROUP_BODY).expect(201, None);
    let first = s.as_token("GET", "/chat/Dialog/changes.json", DATA_TOKEN, "").expect(200, None);
    assert_eq!(first["dialogs"].as_array().unwrap().len(), 1);
    assert_eq!((first["removed"].clone(), first["has_more"].clone()), (json!([]), json!(false)));
    let since = first["next"].as_str().unwrap().to_owned();
    let after = format!("/chat/Dialog/changes.json?since={since}&limit=10");
    let none = s.as_token("GET", &after, DATA_TOKEN, "").expect(200, None);
    assert_eq!(none["dialogs"], json!([]));

    let one = format!("/chat/Dialog/{}.json", party["_id"].as_str().unwrap());
    s.as_token("PUT", &one, PARTY_TOKEN, r#"{"name":"Renamed"}"#).expect(200, None);
    let renamed = s.as_token("GET", &after, DATA_TOKEN, "").expect(200, None);
    assert_eq!(renamed["dialogs"][0]["name"], "Renamed");
    assert_eq!(renamed["dialogs"][0]["unread_messages_count"], 0);
    s.as_token("DELETE", &one, DATA_TOKEN, "").expect(200, None);
    let left = s.as_token("GET", &after, DATA_TOKEN, "").expect(200, None);
    assert_eq!(
        (left["dialogs"].clone(), left["removed"].clone()),
        (json!([]), json!([party["_id"]]))
    );

    // Errors: another user's cursor, garbage, a bad limit, an unknown key.
    s.as_token("GET", &after, PARTY_TOKEN, "").expect(422, Some("CURSOR_INVALID"));
    s.as_token("GET", "/chat/Dialog/changes.json?since=xyz", DATA_TOKEN, "")
        .expect(422, Some("CURSOR_INVALID"));
    s.as_token("GET", "/chat/Dialog/changes.json?limit=0", DATA_TOKEN, "")
        .expect(422, Some("QUERY"));
    s.as_token("GET", "/chat/Dialog/changes.json?sinse=1", DATA_TOKEN, "")
        .expect(422, Some("QUERY"));

    // Cursor pages on the list: next_cursor only when asked for.
    for _ in 0..3 {
        s.as_token("POST", "/chat/Dialog.json", PARTY_TOKEN, PUBLIC_BODY).expect(201, None);
    }
    let plain = s.as_token("GET", "/chat/Dialog.json?limit=2", PARTY_TOKEN, "").expect(200, None);
    assert!(plain.get("next_cursor").is_none(), "{plain}");
    let page = s.as_token("GET", "/chat/Dialog.json?limit=2&cursor=", PARTY_TOKEN, "");
    let page = page.expect(200, None);
    let next = page["next_cursor"].as_str().unwrap();
    let target = format!("/chat/Dialog.json?limit=2&cursor={next}");
    let last = s.as_token("GET", &target, PARTY_TOKEN, "").expect(200, None);
    assert_eq!(last["items"].as_array().unwrap().len(), 2);
    assert_eq!(last["next_cursor"], Value::Null);
    let ids = |p: &Value| {
        p["items"].as_array().unwrap().iter().map(|d| d["_id"].clone()).collect::<Vec<_>>()
    };
    assert!(ids(&page).iter().all(|id| !ids(&last).contains(id)));
}

/// `GET /chat/Message/unread.json`, QuickBlox's shape, with and without `chat_dialog_ids`.
#[test]
fn unread_counts_endpoint() {
    let s = Server::start();
    let party = s.as_token("POST", "/chat/Dialog.json", PARTY_TOKEN, GROUP_BODY).expect(201, None);
    let id = party["_id"].as_str().unwrap().to_owned();
    let msg = MessageMeta { id: "m1".into(), text: "hi".into(), date_sent: T };
    s.store.record_message(id.parse().unwrap(), UserId(96753878), msg).unwrap();
    let all = s.as_token("GET", "/chat/Message/unread.json", DATA_TOKEN, "").expect(200, None);
    assert_eq!(all, json!({"total": 1, id.clone(): 1}));
    let one = format!("/chat/Message/unread.json?chat_dialog_ids={id}");
    let asked = s.as_token("GET", &one, PARTY_TOKEN, "").expect(200, None);
    assert_eq!(asked, json!({"total": 0, id.clone(): 0}));
    s.as_token("GET", "/chat/Message/unread.json?chat_dialog_ids=xyz", PARTY_TOKEN, "")
        .expect(422, Some("DIALOG_ID_INVALID"));
    s.as_api_key("GET", &one, "123", "").expect(403, Some("ACCESS_ERROR"));
}
