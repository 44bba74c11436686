//! `scimd show`: a user or group exactly as the SCIM API served it at a past moment (or now),
//! derived from the event log, printed as the SCIM JSON document.

use clap::{ArgGroup, Args};
use scimd::admin::{self, Subject};
use scimd::scim::schema::ResourceType;
use scimd::store::Store;

/// The default of `serve --listen`, where the API is unless `--public-url` says otherwise.
const DEFAULT_PUBLIC_URL: &str = "http://127.0.0.1:8080";

#[derive(Debug, Args)]
#[command(group(ArgGroup::new("subject").required(true).args(["user", "group", "id"])))]
pub struct ShowArgs {
    #[arg(long)]
    instance: String,
    /// The user with this userName (at that time, if several users bore it over time)
    #[arg(long)]
    user: Option<String>,
    /// The group with this displayName (at that time, if several groups bore it over time)
    #[arg(long)]
    group: Option<String>,
    /// The user or group with this id
    #[arg(long)]
    id: Option<String>,
    /// The RFC 3339 date-time to show it at, e.g. 2026-01-31T12:00:00Z (default: now)
    #[arg(long)]
    at: Option<String>,
    /// Base URL clients reach scimd at, for `meta.location` and references (as for `serve`)
    #[arg(long, env = "SCIMD_PUBLIC_URL", default_value = DEFAULT_PUBLIC_URL)]
    public_url: String,
}

pub async fn show(store: &Store, args: ShowArgs) -> anyhow::Result<()> {
    let subject = match (args.user, args.group, args.id) {
        (Some(user_name), _, _) => Subject::Named(ResourceType::User, user_name),
        (_, Some(display_name), _) => Subject::Named(ResourceType::Group, display_name),
        (_, _, Some(id)) => Subject::Id(id),
        // clap requires exactly one of them.
        (None, None, None) => anyhow::bail!("name a --user, a --group or an --id"),
    };
    let base_url = format!("{}/scim/v2", args.public_url.trim_end_matches('/'));
    let resource = admin::show(
        store,
        &args.instance,
        &subject,
        args.at.as_deref(),
        &base_url,
    )
    .await?;
    super::print_json(&resource)
}
