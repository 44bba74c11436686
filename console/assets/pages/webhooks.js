// The webhook endpoints of one instance: add one (its signing secret shown this once), and list
// them with the events each receives, whether it is delivering (a disabled endpoint says why,
// before anything else on the page) and how its last delivery went.
import { instancePath } from "../api.js";
import { announce, field, fill, h, message, shownOnce, table, time, uniqueId } from "../dom.js";

/** The public event types an endpoint may choose from (the feed's `EVENT_TYPES`). */
export const EVENT_TYPES = [
  "user.created",
  "user.updated",
  "user.suspended",
  "user.reactivated",
  "user.deleted",
  "group.created",
  "group.renamed",
  "group.deleted",
  "group.member_added",
  "group.member_removed",
];

/** The address of an endpoint's page. */
export function webhookHref(hrefOf, instance, id) {
  return hrefOf(`/instances/${encodeURIComponent(instance)}/webhooks/${encodeURIComponent(id)}`);
}

/** The event types an endpoint receives: all of them when it names none. */
export function typesOf(endpoint) {
  const types = endpoint.types ?? [];
  if (types.length === 0) return h("span", {}, "All event types");
  return h("ul", { class: "plain" }, types.map((type) => h("li", {}, h("code", {}, type))));
}

/** Enabled or Disabled, and for a disabled endpoint why, in words a reader cannot miss. */
export function stateOf(endpoint) {
  if (endpoint.state === "disabled") {
    return [
      h("span", { class: "badge failed" }, "Disabled"),
      h("div", { class: "disabled-reason" }, endpoint.disabledReason ?? "No reason recorded"),
    ];
  }
  return [
    h("span", { class: "badge ok" }, "Enabled"),
    endpoint.failingSince
      ? h("div", { class: "failing" }, "Failing since ", time(endpoint.failingSince), endpoint.nextAttemptAt ? ["; next attempt ", time(endpoint.nextAttemptAt)] : null)
      : null,
  ];
}

/** What an attempt's receiver answered, or why it gave no answer: `200`, `503`, `timeout`. */
export function outcomeOf(attempt) {
  const said = attempt.status ?? attempt.error ?? "no answer";
  const detail = attempt.status !== null && attempt.status !== undefined && attempt.error ? ` (${attempt.error})` : "";
  return h("span", { class: attempt.succeeded ? "badge ok" : "badge failed" }, `${attempt.succeeded ? "Delivered" : "Failed"}: ${said}${detail}`);
}

/** Milliseconds as the console shows a latency: `12.3 ms`. */
export function latencyOf(attempt) {
  const ms = Number(attempt.latencyMs);
  if (!Number.isFinite(ms)) return h("span", { class: "muted" }, "—");
  return `${ms.toLocaleString("en-US", { maximumFractionDigits: 1 })} ms`;
}

/** The last attempt of an endpoint as one cell: its outcome, event and time. */
function lastDelivery(attempt) {
  if (attempt === undefined) return h("span", { class: "muted" }, "Not known");
  if (attempt === null) return h("span", { class: "muted" }, "No delivery yet");
  return [
    outcomeOf(attempt),
    h("div", {}, h("code", {}, attempt.eventType), ` attempt ${attempt.attempt}`),
    h("div", {}, time(attempt.at)),
  ];
}

// Set by the endpoint page when it deletes one, said once by the next listing.
let deletedNotice = null;

/** The endpoint page deleted `url`: the listing it goes back to says so. */
export function tellDeleted(url) {
  deletedNotice = `Endpoint ${url} deleted; nothing more is delivered to it.`;
}

export async function render(view, { api, params, hrefOf }) {
  const { instance } = params;
  const path = instancePath(instance, "/webhooks");
  const warnings = h("div", {});
  const listing = h("div", {}, h("p", { class: "empty" }, "Loading…"));
  const feedback = h("div", {});

  const url = h("input", { type: "url", name: "url", required: true, autocomplete: "off", spellcheck: "false", placeholder: "https://app.example.com/scimd/events" });
  const description = h("input", { type: "text", name: "description", autocomplete: "off" });
  const boxes = EVENT_TYPES.map((type) => h("input", { type: "checkbox", name: "types", value: type, id: uniqueId("type") }));
  const typesHint = h("p", { class: "hint", id: uniqueId("hint") }, "None checked: every event type, including types added later.");
  const types = h(
    "fieldset",
    { class: "event-types", "aria-describedby": typesHint.id },
    h("legend", {}, "Event types"),
    typesHint,
    h("div", { class: "type-grid" }, boxes.map((box) => h("div", { class: "field checkbox" }, box, h("label", { for: box.id }, h("code", {}, box.value))))),
  );

  async function lastAttemptOf(endpoint) {
    try {
      const page = await api.get(`${path}/${encodeURIComponent(endpoint.id)}/deliveries`, { limit: 1 });
      return page.attempts?.[0] ?? null;
    } catch {
      return undefined;
    }
  }

  async function refresh() {
    const { endpoints } = await api.get(path);
    const last = await Promise.all(endpoints.map(lastAttemptOf));
    const disabled = endpoints.filter((endpoint) => endpoint.state === "disabled");
    fill(
      warnings,
      disabled.map((endpoint) =>
        h(
          "div",
          { class: "message warning" },
          h("strong", {}, "Disabled: "),
          h("a", { href: webhookHref(hrefOf, instance, endpoint.id) }, endpoint.url),
          ` receives nothing: ${endpoint.disabledReason ?? "no reason recorded"}. Enable it on its page once the receiver works again.`,
        ),
      ),
    );
    fill(
      listing,
      table({
        caption: `${endpoints.length} endpoint${endpoints.length === 1 ? "" : "s"} of ${instance}`,
        empty: "This instance has no webhook endpoints yet.",
        rows: endpoints.map((endpoint, index) => ({ endpoint, attempt: last[index] })),
        rowProps: ({ endpoint }) => (endpoint.state === "disabled" ? { class: "disabled" } : {}),
        columns: [
          {
            label: "Endpoint",
            cell: ({ endpoint }) => [
              h("a", { href: webhookHref(hrefOf, instance, endpoint.id) }, endpoint.url),
              endpoint.description ? h("div", { class: "muted" }, endpoint.description) : null,
            ],
          },
          { label: "Event types", cell: ({ endpoint }) => typesOf(endpoint) },
          { label: "State", cell: ({ endpoint }) => stateOf(endpoint) },
          { label: "Last delivery", cell: ({ attempt }) => lastDelivery(attempt) },
        ],
      }),
    );
  }

  const form = h(
    "form",
    {
      class: "panel webhook-form",
      onsubmit: async (event) => {
        event.preventDefault();
        feedback.replaceChildren();
        const chosen = boxes.filter((box) => box.checked).map((box) => box.value);
        try {
          const created = await api.post(path, {
            url: url.value.trim(),
            types: chosen,
            description: description.value.trim(),
          });
          form.reset();
          fill(
            feedback,
            shownOnce({
              note: `Endpoint ${created.endpoint.url} added. Its signing secret is shown only this once: store it now where the receiver verifies signatures.`,
              label: "Signing secret",
              secret: created.secret,
              id: "issued-secret",
              copyLabel: "Copy secret",
            }),
          );
          announce("Endpoint added; its signing secret is shown only this once");
          await refresh();
        } catch (error) {
          fill(feedback, message("error", error.message));
          url.focus();
        }
      },
    },
    h("div", { class: "form-row" },
      field("URL", url, "Where scimd POSTs each event: https, and no redirects are followed."),
      field("Description", description, "Optional: what receives these events.")),
    types,
    h("button", { type: "submit" }, "Add endpoint"),
  );

  const notice = deletedNotice;
  deletedNotice = null;
  fill(
    view,
    h("h1", {}, `Webhooks of ${instance}`),
    h("p", { class: "lead" }, "scimd POSTs every change of this instance to each endpoint as it happens, in order and signed (Standard Webhooks), retrying a failing one for up to three days."),
    notice ? message("success", notice) : null,
    warnings,
    h("section", { "aria-labelledby": "add-webhook" }, h("h2", { id: "add-webhook" }, "Add an endpoint"), form, feedback),
    h("section", { "aria-labelledby": "all-webhooks" }, h("h2", { id: "all-webhooks" }, "Endpoints"), listing),
  );
  if (notice) announce(notice);
  await refresh();
}
