//! QuickBlox's HTTP API (its `/chat/Dialog` endpoints) over a [`DialogStore`]: the router
//! and its handlers, shared by the example's `main` and by `tests/http_api.rs`, which runs it
//! in-process and replays QuickBlox's documented curl examples against it.
//!
//! | request | answer |
//! | --- | --- |
//! | `POST /chat/Dialog.json`, body a `NewDialog` | 201 and the dialog |
//! | `GET /chat/Dialog.json?QUERY` | 200 and `{total_entries, skip, limit, items}` (and `next_cursor` when QUERY has `cursor=`) |
//! | `GET /chat/Dialog/changes.json?since=TOKEN&limit=N` | 200 and `{dialogs, removed, next, has_more}`: what changed for the caller after `TOKEN` (none or `start`: everything they see), at most `N` (1 to 1,000, default 100) |
//! | `GET /chat/Message/unread.json[?chat_dialog_ids=ID,ID]` | 200 and `{"total": N, "<id>": n, ...}`: the caller's unread messages in all their dialogs and in each id (without ids, in every dialog where they have any) |
//! | `GET /chat/Dialog/{id}.json` | 200 and the dialog, with the caller's unread count |
//! | `PUT /chat/Dialog/{id}.json`, body a `DialogUpdate` | 200 and the dialog |
//! | `DELETE /chat/Dialog/{id},{id}.json[?force=1]` | 200 and `{"SuccessfullyDeleted": {"ids": [..]}, "NotFound": {"ids": []}, "WrongPermissions": {"ids": []}}` |
//!
//! The caller is the user of the `QB-Token` header (a static token table), or the
//! `On-Behalf-Of` user of a request with `Authorization: ApiKey KEY` (a known key). Failures
//! answer `{"errors": ["CODE: message"]}` with 401 (no or unknown credentials), 403
//! (`ACCESS_ERROR`, `WRONG_PERMISSIONS`), 404 (`NOT_FOUND`), 410 (`CURSOR_EXPIRED`: sync again
//! from the start), 422 (`VALIDATION`, `QUERY`, `DIALOG_ID_EMPTY`, `DIALOG_ID_INVALID`,
//! `CURSOR_INVALID`) or 500 (the storage failed).
// The example's main and the test each use part of this module.
#![allow(dead_code)]

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use dialogstore::{
    ChangeCursor, DialogId, DialogStore, DialogUpdate, Error, NewDialog, Query, UserId,
    ValidationError,
};
use serde::Serialize;
use serde_json::json;

/// The session tokens of QuickBlox's curl examples and the users they stand for.
///
/// QuickBlox's examples do not say whose tokens they are; these users make their bodies and answers
/// fit together: `eddf…` creates the private dialog with 102433721 whose answer lists occupants
/// 102433721 and 102433734, so it is 102433734 (the example answer names 102433721 as owner,
/// which would make the dialog one with oneself); `1319…` creates "New Year party" and lists
/// the dialogs owned by 96753878; `2e80…` is another member of that party, 96831397.
pub const SEED_TOKENS: [(&str, u64); 3] = [
    ("eddf864695d72d33b959eec2ae6c640d817dfada", 102433734),
    ("1319b4991186601ccf4df2d0fa89565f68012bba", 96753878),
    ("2e80acd7f3d9c1e79312e0d1dafd6691ba012bba", 96831397),
];

/// The API key of QuickBlox's `Authorization: ApiKey ...` examples.
pub const SEED_API_KEY: &str = "28irlNAGasWDSupO9Vw0BBMZfuHrAUYKpmroS9yBORI";

/// Who may call: session tokens with their users, and API keys that act `On-Behalf-Of` a user.
#[derive(Clone, Debug, Default)]
pub struct Auth {
    tokens: HashMap<String, UserId>,
    api_keys: HashSet<String>,
}

impl Auth {
    /// The tokens ([`SEED_TOKENS`]) and API key ([`SEED_API_KEY`]) of QuickBlox's examples.
    pub fn seeds() -> Auth {
        let mut auth = Auth::default();
        for (token, user) in SEED_TOKENS {
            auth.add_token(token, UserId(user));
        }
        auth.add_api_key(SEED_API_KEY);
        auth
    }

    /// `QB-Token: token` acts as `user`.
    pub fn add_token(&mut self, token: &str, user: UserId) {
        self.tokens.insert(token.to_owned(), user);
    }

    /// `Authorization: ApiKey key` acts as the `On-Behalf-Of` user.
    pub fn add_api_key(&mut self, key: &str) {
        self.api_keys.insert(key.to_owned());
    }

    /// The tokens, sorted, for printing.
    pub fn tokens(&self) -> Vec<(&str, UserId)> {
        let mut out: Vec<_> = self.tokens.iter().map(|(t, u)| (t.as_str(), *u)).collect();
        out.sort();
        out
    }

    /// The acting user of a request, or the refusal: 401 (or 422 for a malformed
    /// `On-Behalf-Of`) and its message.
    fn user(&self, headers: &HeaderMap) -> Result<UserId, (StatusCode, String)> {
        if let Some(token) = headers.get("QB-Token") {
            return token
                .to_str()
                .ok()
                .and_then(|t| self.tokens.get(t.trim()).copied())
                .ok_or_else(|| unauthorized("unknown QB-Token"));
        }
        if let Some(auth) = headers.get(header::AUTHORIZATION) {
            let key = auth.to_str().ok().and_then(|a| a.strip_prefix("ApiKey ")).map(str::trim);
            if !key.is_some_and(|k| self.api_keys.contains(k)) {
                return Err(unauthorized("unknown API key (expected Authorization: ApiKey KEY)"));
            }
            let Some(on_behalf) = headers.get("On-Behalf-Of") else {
                return Err(unauthorized("On-Behalf-Of: a user id is required with an API key"));
            };
            let text = on_behalf.to_str().unwrap_or("(not text)");
            return text.parse::<UserId>().map_err(|e| error_parts(&e));
        }
        Err(unauthorized(
            "a QB-Token header, or Authorization: ApiKey KEY with On-Behalf-Of: USER_ID, is required",
        ))
    }
}

/// What every handler shares.
struct App {
    store: Arc<DialogStore>,
    auth: Auth,
}

/// The `/chat/Dialog` endpoints over `store`, with `auth` deciding who calls.
pub fn router(store: Arc<DialogStore>, auth: Auth) -> Router {
    let app = Arc::new(App { store, auth });
    Router::new()
        .route("/chat/Dialog.json", get(list).post(create))
        // Before `{file}`: a static segment wins over a parameter.
        .route("/chat/Dialog/changes.json", get(changes))
        .route("/chat/Message/unread.json", get(unread))
        // One segment `{id}.json` or `{id},{id}.json`: the handlers take the `.json` off.
        .route("/chat/Dialog/{file}", get(get_one).put(update).delete(delete))
        .with_state(app)
}

async fn create(State(app): State<Arc<App>>, headers: HeaderMap, body: Bytes) -> Response {
    call(&app, &headers, StatusCode::CREATED, move |store, user| {
        store.create_dialog(user, NewDialog::from_json(utf8(&body)?)?)
    })
    .await
}

async fn list(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    call(&app, &headers, StatusCode::OK, move |store, user| {
        let q: Query = query.as_deref().unwrap_or("").parse()?;
        store.list_dialogs(user, &q)
    })
    .await
}

/// The most entries one `changes.json` answer holds.
const MAX_CHANGES: usize = 1_000;

async fn changes(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let (mut since, mut limit) = (String::new(), "100".to_owned());
    for pair in query.as_deref().unwrap_or("").split('&').filter(|p| !p.is_empty()) {
        match pair.split_once('=').unwrap_or((pair, "")) {
            ("since", token) => since = token.to_owned(),
            ("limit", n) => limit = n.to_owned(),
            (key, _) => {
                let message = format!("QUERY: {key}: unknown key, expected since and limit");
                return errors(StatusCode::UNPROCESSABLE_ENTITY, message);
            }
        }
    }
    let limit = match limit.parse::<usize>() {
        Ok(n) if (1..=MAX_CHANGES).contains(&n) => n,
        _ => {
            let message =
                format!("QUERY: limit: must be an integer from 1 to {MAX_CHANGES}, got {limit:?}");
            return errors(StatusCode::UNPROCESSABLE_ENTITY, message);
        }
    };
    call(&app, &headers, StatusCode::OK, move |store, user| {
        let cursor: ChangeCursor = since.parse()?;
        store.changes_since(user, &cursor, limit)
    })
    .await
}

async fn unread(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let mut ids = String::new();
    for pair in query.as_deref().unwrap_or("").split('&').filter(|p| !p.is_empty()) {
        match pair.split_once('=').unwrap_or((pair, "")) {
            ("chat_dialog_ids", list) => ids = list.replace("%2C", ",").replace("%2c", ","),
            (key, _) => {
                let message = format!("QUERY: {key}: unknown key, expected chat_dialog_ids");
                return errors(StatusCode::UNPROCESSABLE_ENTITY, message);
            }
        }
    }
    call(&app, &headers, StatusCode::OK, move |store, user| {
        let ids = ids
            .split(',')
            .filter(|id| !id.trim().is_empty())
            .map(|id| id.trim().parse())
            .collect::<Result<Vec<DialogId>, Error>>()?;
        store.unread_counts(user, &ids)
    })
    .await
}

async fn get_one(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Path(file): Path<String>,
) -> Response {
    let Some(id) = json_resource(&file) else { return no_such_resource(&file) };
    call(&app, &headers, StatusCode::OK, move |store, user| store.get_dialog(user, &id)).await
}

async fn update(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Path(file): Path<String>,
    body: Bytes,
) -> Response {
    let Some(id) = json_resource(&file) else { return no_such_resource(&file) };
    call(&app, &headers, StatusCode::OK, move |store, user| {
        let id: DialogId = id.parse()?;
        store.update_dialog(user, id, DialogUpdate::from_json(utf8(&body)?)?)
    })
    .await
}

/// QuickBlox's answer to a delete, where all ids were deleted (the store deletes all or none).
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Deleted {
    successfully_deleted: Ids,
    not_found: Ids,
    wrong_permissions: Ids,
}

#[derive(Serialize)]
struct Ids {
    ids: Vec<DialogId>,
}

async fn delete(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Path(file): Path<String>,
    RawQuery(query): RawQuery,
) -> Response {
    let Some(list) = json_resource(&file) else { return no_such_resource(&file) };
    let force = query.as_deref().unwrap_or("").split('&').any(|pair| pair == "force=1");
    call(&app, &headers, StatusCode::OK, move |store, user| {
        let ids = list.split(',').map(str::parse).collect::<Result<Vec<DialogId>, Error>>()?;
        store.delete_dialogs(user, &ids, force)?;
        Ok(Deleted {
            successfully_deleted: Ids { ids },
            not_found: Ids { ids: Vec::new() },
            wrong_permissions: Ids { ids: Vec::new() },
        })
    })
    .await
}

/// Finds the caller, runs `f` on a blocking thread (the store's calls wait on the disk), and
/// answers `ok` with its JSON or the error's status and body.
async fn call<T: Serialize + Send + 'static>(
    app: &App,
    headers: &HeaderMap,
    ok: StatusCode,
    f: impl FnOnce(&DialogStore, UserId) -> Result<T, Error> + Send + 'static,
) -> Response {
    let user = match app.auth.user(headers) {
        Ok(user) => user,
        Err((status, message)) => return errors(status, message),
    };
    let store = app.store.clone();
    match tokio::task::spawn_blocking(move || f(&store, user)).await {
        Ok(Ok(value)) => (ok, Json(value)).into_response(),
        Ok(Err(e)) => {
            let (status, message) = error_parts(&e);
            errors(status, message)
        }
        Err(e) => errors(StatusCode::INTERNAL_SERVER_ERROR, format!("INTERNAL: {e}")),
    }
}

/// The status of each error code.
pub fn status_of(code: &str) -> StatusCode {
    match code {
        "ACCESS_ERROR" | "WRONG_PERMISSIONS" => StatusCode::FORBIDDEN,
        "NOT_FOUND" => StatusCode::NOT_FOUND,
        "VALIDATION" | "QUERY" | "DIALOG_ID_EMPTY" | "DIALOG_ID_INVALID" | "CURSOR_INVALID" => {
            StatusCode::UNPROCESSABLE_ENTITY
        }
        "CURSOR_EXPIRED" => StatusCode::GONE,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

fn error_parts(e: &Error) -> (StatusCode, String) {
    (status_of(e.code()), format!("{}: {e}", e.code()))
}

fn unauthorized(why: &str) -> (StatusCode, String) {
    (StatusCode::UNAUTHORIZED, format!("UNAUTHORIZED: {why}"))
}

fn no_such_resource(file: &str) -> Response {
    errors(
        StatusCode::NOT_FOUND,
        format!("NOT_FOUND: /chat/Dialog/{file}: expected /chat/Dialog/{{id}}.json"),
    )
}

/// `{"errors": [message]}`, QuickBlox's error shape.
fn errors(status: StatusCode, message: String) -> Response {
    (status, Json(json!({ "errors": [message] }))).into_response()
}

/// The id part of `{id}.json`.
fn json_resource(file: &str) -> Option<String> {
    file.strip_suffix(".json").map(str::to_owned)
}

/// A request body as text; anything else is refused like bad JSON.
fn utf8(body: &[u8]) -> Result<&str, Error> {
    std::str::from_utf8(body).map_err(|e| {
        Error::Validation(ValidationError::Json { message: format!("not UTF-8 ({e})") })
    })
}
