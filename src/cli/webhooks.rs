//! `scimd webhooks`: an instance's webhook endpoints (docs/webhooks.md), as the admin API
//! manages them. The secret is printed once, by `create` and `rotate`, alone on the last line.

use super::settings::cli_action;
use super::{print_json, print_table};
use anyhow::Context as _;
use chrono::Utc;
use clap::{Args, Subcommand};
use projections::metadata::timestamp;
use scimd::admin::{self, views, NewEndpoint};
use scimd::store::webhooks::{AttemptRecord, EndpointRecord};
use scimd::store::Store;
use scimd::webhooks::{self, Sender};
use serde_json::{json, Value};
use std::time::Duration;

#[derive(Debug, Args)]
pub struct WebhooksArgs {
    /// Allow http:// URLs and loopback hosts, as `scimd serve --webhook-allow-loopback` does
    #[arg(long, global = true, env = "SCIMD_WEBHOOK_ALLOW_LOOPBACK")]
    pub webhook_allow_loopback: bool,
    /// Seconds the test message may take (`test`)
    #[arg(long, global = true, env = "SCIMD_WEBHOOK_TIMEOUT", value_name = "SECS",
          default_value_t = webhooks::TIMEOUT_SECS, value_parser = clap::value_parser!(u64).range(1..))]
    pub webhook_timeout: u64,
    #[command(subcommand)]
    pub command: WebhooksCommand,
}

#[derive(Debug, Subcommand)]
pub enum WebhooksCommand {
    /// Add an endpoint; it receives the instance's events from now on. Its signing secret is
    /// printed once, alone on the last line
    Create {
        #[arg(long)]
        instance: String,
        /// The receiver's https:// URL
        #[arg(long)]
        url: String,
        /// An event type to send (repeat for several); none: every type
        #[arg(long = "type", value_name = "TYPE")]
        types: Vec<String>,
        #[arg(long, default_value = "")]
        description: String,
    },
    /// List the instance's endpoints (never their secrets)
    List {
        #[arg(long)]
        instance: String,
    },
    /// One endpoint, with where its delivery stands
    Show {
        #[arg(long)]
        instance: String,
        id: String,
    },
    /// Stop deliveries to an endpoint (events keep accumulating for it)
    Disable {
        #[arg(long)]
        instance: String,
        id: String,
    },
    /// Resume deliveries with the event they stopped at
    Enable {
        #[arg(long)]
        instance: String,
        id: String,
    },
    /// Delete an endpoint and its attempt log
    Delete {
        #[arg(long)]
        instance: String,
        id: String,
    },
    /// Give an endpoint a new secret, printed once; the old one keeps signing too during the
    /// overlap
    Rotate {
        #[arg(long)]
        instance: String,
        id: String,
        /// Hours the old secret keeps signing
        #[arg(long, default_value_t = admin::DEFAULT_OVERLAP_HOURS)]
        overlap_hours: u32,
    },
    /// Deliver again from an event on (its id, or its cursor)
    Replay {
        #[arg(long)]
        instance: String,
        id: String,
        #[arg(long)]
        from: String,
    },
    /// Send a signed `webhook.test` message now and show the outcome (exit status 1 if it
    /// was not delivered)
    Test {
        #[arg(long)]
        instance: String,
        id: String,
    },
    /// The endpoint's delivery attempts, newest first
    Deliveries {
        #[arg(long)]
        instance: String,
        id: String,
        /// Attempts to show
        #[arg(long, default_value_t = 20)]
        limit: i64,
        /// Only attempts older than this attempt id (the `next` of the previous page)
        #[arg(long)]
        before: Option<i64>,
    },
}

pub async fn webhooks(store: &Store, args: WebhooksArgs, json: bool) -> anyhow::Result<()> {
    let now = timestamp(Utc::now());
    match args.command {
        WebhooksCommand::Create {
            instance,
            url,
            types,
            description,
        } => {
            let new = NewEndpoint {
                url,
                types,
                description,
            };
            let allow = args.webhook_allow_loopback;
            let created =
                admin::create_webhook(store, &instance, &new, allow, &cli_action()).await?;
            if json {
                return print_json(&views::webhook_with_secret(
                    &created.endpoint,
                    &created.secret,
                    &now,
                ));
            }
            println!(
                "Created webhook endpoint {} for {} of instance {instance:?}.",
                created.endpoint.id, created.endpoint.url
            );
            println!("Store its signing secret now: it is shown only this once.");
            println!("{}", created.secret);
        }
        WebhooksCommand::List { instance } => {
            let endpoints = admin::list_webhooks(store, &instance).await?;
            if json {
                let listed: Vec<Value> = endpoints
                    .iter()
                    .map(|endpoint| views::webhook_endpoint(endpoint, &now))
                    .collect();
                return print_json(&json!({"endpoints": listed}));
            }
            print_table(
                &["ID", "URL", "TYPES", "STATE", "CURSOR", "NEXT ATTEMPT"],
                endpoints.iter().map(endpoint_row).collect(),
            );
        }
        WebhooksCommand::Show { instance, id } => {
            let endpoint = admin::webhook(store, &instance, &id).await?;
            show(&endpoint, &now, json)?;
        }
        WebhooksCommand::Disable { instance, id } => {
            let endpoint = admin::disable_webhook(store, &instance, &id, &cli_action()).await?;
            show(&endpoint, &now, json)?;
        }
        WebhooksCommand::Enable { instance, id } => {
            let endpoint = admin::enable_webhook(store, &instance, &id, &cli_action()).await?;
            show(&endpoint, &now, json)?;
        }
        WebhooksCommand::Delete { instance, id } => {
            admin::delete_webhook(store, &instance, &id, &cli_action()).await?;
            if json {
                return print_json(&json!({"deleted": id}));
            }
            println!("Deleted webhook endpoint {id}.");
        }
        WebhooksCommand::Rotate {
            instance,
            id,
            overlap_hours,
        } => {
            let action = cli_action();
            let rotated =
                admin::rotate_webhook(store, &instance, &id, Some(overlap_hours), &action).await?;
            if json {
                return print_json(&views::webhook_with_secret(
                    &rotated.endpoint,
                    &rotated.secret,
                    &now,
                ));
            }
            let until = rotated.endpoint.previous_expires_at.unwrap_or_default();
            println!("Rotated the secret of {id}; the previous one also signs until {until}.");
            println!("Store the new secret now: it is shown only this once.");
            println!("{}", rotated.secret);
        }
        WebhooksCommand::Replay { instance, id, from } => {
            let endpoint =
                admin::replay_webhook(store, &instance, &id, &from, &cli_action()).await?;
            if json {
                return print_json(&json!({"endpoint": views::webhook_endpoint(&endpoint, &now)}));
            }
            println!(
                "Delivery to {id} resumes with event {from} (after cursor {}).",
                endpoint.cursor
            );
        }
        WebhooksCommand::Test { instance, id } => {
            let sender = Sender::new(Duration::from_secs(args.webhook_timeout))
                .context("sending the test message")?;
            let attempt = admin::test_webhook(store, &sender, &instance, &id).await?;
            if json {
                print_json(&json!({"attempt": views::webhook_attempt(&attempt)}))?;
            } else {
                print_attempts(std::slice::from_ref(&attempt));
            }
            if !attempt.succeeded {
                anyhow::bail!("the test message was not delivered: {}", failure(&attempt));
            }
        }
        WebhooksCommand::Deliveries {
            instance,
            id,
            limit,
            before,
        } => {
            let (attempts, next) =
                admin::webhook_deliveries(store, &instance, &id, before, limit).await?;
            if json {
                let listed: Vec<Value> = attempts.iter().map(views::webhook_attempt).collect();
                let next = next.map(|id| id.to_string());
                return print_json(&json!({"attempts": listed, "next": next}));
            }
            print_attempts(&attempts);
            if let Some(next) = next {
                println!("More: --before {next}");
            }
        }
    }
    Ok(())
}

fn show(endpoint: &EndpointRecord, now: &str, json: bool) -> anyhow::Result<()> {
    let view = views::webhook_endpoint(endpoint, now);
    if json {
        return print_json(&json!({"endpoint": view}));
    }
    let Value::Object(fields) = view else {
        return Ok(());
    };
    for (name, value) in fields {
        let value = match value {
            Value::Null => "-".to_string(),
            Value::String(text) => text,
            Value::Array(items) if items.is_empty() => "(every type)".to_string(),
            other => other.to_string(),
        };
        println!("{name:<24} {value}");
    }
    Ok(())
}

fn endpoint_row(endpoint: &EndpointRecord) -> Vec<String> {
    let types = endpoint.types();
    let state = match &endpoint.disabled_reason {
        Some(reason) if !endpoint.is_enabled() => format!("disabled ({reason})"),
        _ => endpoint.state.clone(),
    };
    vec![
        endpoint.id.clone(),
        endpoint.url.clone(),
        if types.is_empty() {
            "*".to_string()
        } else {
            types.join(",")
        },
        state,
        endpoint.cursor.to_string(),
        endpoint
            .next_attempt_at
            .clone()
            .unwrap_or_else(|| "-".into()),
    ]
}

fn failure(attempt: &AttemptRecord) -> String {
    match (&attempt.error, attempt.status) {
        (Some(error), _) => error.clone(),
        (None, Some(status)) => format!("the receiver answered {status}"),
        (None, None) => "no answer".into(),
    }
}

fn print_attempts(attempts: &[AttemptRecord]) {
    print_table(
        &[
            "ID", "AT", "EVENT", "TYPE", "TRY", "STATUS", "MS", "OUTCOME",
        ],
        attempts
            .iter()
            .map(|attempt| {
                vec![
                    attempt.id.to_string(),
                    attempt.at.clone(),
                    attempt.event_id.clone(),
                    attempt.event_type.clone(),
                    attempt.attempt.to_string(),
                    attempt.status.map_or_else(|| "-".into(), |s| s.to_string()),
                    attempt.latency_ms.to_string(),
                    if attempt.succeeded {
                        "delivered".into()
                    } else {
                        failure(attempt)
                    },
                ]
            })
            .collect(),
    );
}
