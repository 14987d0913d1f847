//! A small HTTP service that speaks QuickBlox's dialog API over a dialogstore.
//!
//! ```sh
//! cargo run --release --example http_api -- [--addr 127.0.0.1:8080] [--store PATH]
//!     [--token TOKEN=USER_ID]... [--api-key KEY]...
//! ```
//!
//! Without `--store` the store lives in memory and is gone when the service stops. QuickBlox's
//! tokens and API key are always known ([`service::SEED_TOKENS`]); `--token` and `--api-key` add
//! more. Then, as in QuickBlox's docs (`-g` keeps curl from reading `[...]` as a glob):
//!
//! ```sh
//! curl -X POST -H "Content-Type: application/json" \
//!   -H "QB-Token: 1319b4991186601ccf4df2d0fa89565f68012bba" \
//!   -d '{"type":2,"name":"New Year party","occupants_ids":"96831397,96831328,96830631,96754523","photo":"68123"}' \
//!   http://127.0.0.1:8080/chat/Dialog.json
//! curl -g -H "QB-Token: 1319b4991186601ccf4df2d0fa89565f68012bba" \
//!   'http://127.0.0.1:8080/chat/Dialog.json?name[ctn]=party&limit=2'
//! ```

mod service;

use std::sync::Arc;

use dialogstore::{DialogStore, UserId};

const USAGE: &str = "usage: http_api [--addr HOST:PORT] [--store PATH] [--token TOKEN=USER_ID]... [--api-key KEY]...";

struct Options {
    addr: String,
    store: Option<String>,
    auth: service::Auth,
}

fn parse_args() -> Result<Options, String> {
    let mut opts =
        Options { addr: "127.0.0.1:8080".to_owned(), store: None, auth: service::Auth::seeds() };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        if flag == "--help" || flag == "-h" {
            return Err(USAGE.to_owned());
        }
        let value = args.next().ok_or_else(|| format!("{flag} needs a value\n{USAGE}"))?;
        match flag.as_str() {
            "--addr" => opts.addr = value,
            "--store" => opts.store = Some(value),
            "--api-key" => opts.auth.add_api_key(&value),
            "--token" => {
                let (token, user) = value
                    .split_once('=')
                    .ok_or_else(|| format!("--token {value}: expected TOKEN=USER_ID"))?;
                let user: UserId = user.parse().map_err(|e| format!("--token {value}: {e}"))?;
                opts.auth.add_token(token, user);
            }
            _ => return Err(format!("unknown option {flag}\n{USAGE}")),
        }
    }
    Ok(opts)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let opts = match parse_args() {
        Ok(opts) => opts,
        Err(message) => {
            eprintln!("{message}");
            std::process::exit(2);
        }
    };
    // The app id and MUC domain of QuickBlox's examples, so `xmpp_room_jid` reads as theirs.
    let builder = DialogStore::builder().app_id(76730).muc_domain("muc.chat.quickblox.com");
    let store = match &opts.store {
        Some(path) => builder.open(path)?,
        None => builder.in_memory()?,
    };
    // Build the in-memory columns now, not in the first large query a user sends.
    store.warm_up()?;
    let listener = tokio::net::TcpListener::bind(&opts.addr).await?;
    println!("dialogstore HTTP API on http://{}", listener.local_addr()?);
    println!("store: {}", opts.store.as_deref().unwrap_or("in memory"));
    for (token, user) in opts.auth.tokens() {
        println!("QB-Token {token} -> user {user}");
    }
    println!("Authorization: ApiKey {} with On-Behalf-Of: USER_ID", service::SEED_API_KEY);
    axum::serve(listener, service::router(Arc::new(store), opts.auth)).await?;
    Ok(())
}
