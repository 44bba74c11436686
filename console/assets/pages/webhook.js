// One webhook endpoint: its settings and state (a disabled one says why, first), where its
// delivery stands, what can be done to it (a test event and its outcome, replay from an event,
// rotating the signing secret, disabling, enabling, deleting), and the log of every delivery
// attempt, newest first, 25 a page.
import { instancePath } from "../api.js";
import { announce, field, fill, h, message, paged, shownOnce, table, time } from "../dom.js";
import { latencyOf, outcomeOf, stateOf, tellDeleted, typesOf } from "./webhooks.js";

const PAGE = 25;
const DEFAULT_OVERLAP_HOURS = 24;

/** The first bytes a receiver answered, as text (never markup), or that it answered none. */
function answerOf(attempt) {
  if (!attempt.response) return h("span", { class: "muted" }, attempt.status ? "(empty)" : "No answer");
  return h("code", { class: "answer" }, attempt.response);
}

/** A test event's outcome, in a sentence and with the receiver's answer. */
function testOutcome(attempt) {
  const said = attempt.status ? `answered ${attempt.status}` : `failed: ${attempt.error ?? "no answer"}`;
  const text = attempt.succeeded
    ? `Test event delivered: the receiver ${said} in ${latencyOf(attempt)}.`
    : `Test event not delivered: the receiver ${said} after ${latencyOf(attempt)}.`;
  return h(
    "div",
    // A failure is an alert, as every error is; a success is announced by the page.
    { class: `message ${attempt.succeeded ? "success" : "error"} test-outcome`, role: attempt.succeeded ? undefined : "alert" },
    h("p", {}, text),
    attempt.response ? h("p", {}, "Its answer began: ", h("code", { class: "answer" }, attempt.response)) : null,
  );
}

export async function render(view, { api, params, hrefOf, navigate }) {
  const { instance, id } = params;
  const path = instancePath(instance, `/webhooks/${encodeURIComponent(id)}`);
  const listingPath = `/instances/${encodeURIComponent(instance)}/webhooks`;
  const heading = h("h1", {}, "Webhook endpoint");
  const banner = h("div", {});
  const facts = h("div", {}, h("p", { class: "empty" }, "Loading…"));
  const feedback = h("div", { class: "feedback" });
  const toggle = h("div", { class: "toggle" });
  const deliveries = h("div", {}, h("p", { class: "empty" }, "Loading…"));
  let endpoint = null;

  function draw(current) {
    endpoint = current;
    heading.textContent = `Webhook endpoint ${current.url}`;
    const disabled = current.state === "disabled";
    fill(
      banner,
      disabled
        ? h(
            "div",
            { class: "message warning" },
            h("strong", {}, "This endpoint is disabled: "),
            current.disabledReason ?? "no reason recorded",
            ". Nothing is delivered to it until it is enabled again.",
          )
        : null,
    );
    const rows = [
      ["URL", h("code", {}, current.url)],
      ["Description", current.description || h("span", { class: "muted" }, "None")],
      ["Event types", typesOf(current)],
      ["State", stateOf(current)],
      // Where delivery stands in the feed: a new endpoint starts at the feed's end, so "after"
      // is true of it too, where "delivered up to" would not be.
      ["Delivery position", current.cursor && current.cursor !== "0" ? ["after event cursor ", h("code", {}, current.cursor)] : "from the first event"],
      ["Previous secret", current.previousSecretExpiresAt ? ["still signs until ", time(current.previousSecretExpiresAt)] : null],
      ["Created", time(current.createdAt)],
      ["id", h("code", {}, current.id)],
    ];
    fill(
      facts,
      h("dl", { class: "facts" }, rows.filter(([, value]) => value).map(([name, value]) => [h("dt", {}, name), h("dd", {}, value)])),
    );
    fill(
      toggle,
      disabled
        ? h("button", { type: "button", onclick: () => setEnabled(true) }, "Enable endpoint")
        : h("button", { type: "button", class: "danger", onclick: () => setEnabled(false) }, "Disable endpoint"),
    );
  }

  /** Runs `call`; on success draws the endpoint it gives and says `done`, else says why not. */
  async function act(call, done) {
    feedback.replaceChildren();
    try {
      const answer = await call();
      if (answer?.endpoint) draw(answer.endpoint);
      const said = done(answer);
      if (typeof said === "string") {
        fill(feedback, message("success", said));
        announce(said);
      }
      await showDeliveries(1);
    } catch (error) {
      fill(feedback, message("error", error.message));
    }
  }

  function setEnabled(enable) {
    if (!enable) {
      const sure = window.confirm(`Disable ${endpoint.url}? Nothing is delivered to it until it is enabled again.`);
      if (!sure) return;
    }
    act(
      () => api.post(`${path}/${enable ? "enable" : "disable"}`, {}),
      () => (enable ? "Endpoint enabled: delivery resumes." : "Endpoint disabled: nothing is delivered to it."),
    );
  }

  const testButton = h(
    "button",
    {
      type: "button",
      class: "secondary",
      onclick: async () => {
        testButton.disabled = true;
        fill(feedback, h("p", { class: "muted" }, "Sending a test event…"));
        await act(
          () => api.post(`${path}/test`, {}),
          ({ attempt }) => {
            fill(feedback, testOutcome(attempt));
            announce(attempt.succeeded ? "Test event delivered" : "Test event not delivered");
          },
        );
        testButton.disabled = false;
      },
    },
    "Send test event",
  );

  const from = h("input", { type: "text", name: "from", required: true, autocomplete: "off", spellcheck: "false" });
  const replayForm = h(
    "form",
    {
      class: "panel inline",
      "aria-label": "Replay",
      onsubmit: (event) => {
        event.preventDefault();
        const start = from.value.trim();
        const sure = window.confirm(`Deliver again every event from ${start} on to ${endpoint?.url ?? "this endpoint"}?`);
        if (!sure) return;
        act(
          () => api.post(`${path}/replay`, { from: start }),
          () => {
            from.value = "";
            return `Replaying from ${start}: that event and every one after it are delivered again, in order.`;
          },
        );
      },
    },
    field("Replay from event", from, "An event id (evt_…) or cursor, as the deliveries below and the events API show them."),
    h("button", { type: "submit", class: "secondary" }, "Replay"),
  );

  const overlap = h("input", { type: "number", name: "overlapHours", min: "0", step: "1", value: String(DEFAULT_OVERLAP_HOURS) });
  const rotateForm = h(
    "form",
    {
      class: "panel inline",
      "aria-label": "Rotate the signing secret",
      onsubmit: (event) => {
        event.preventDefault();
        const hours = Number(overlap.value || DEFAULT_OVERLAP_HOURS);
        act(
          () => api.post(`${path}/rotate`, { overlapHours: hours }),
          ({ secret }) => {
            fill(
              feedback,
              shownOnce({
                note: `Signing secret rotated. The new one is shown only this once: give it to the receiver now. The old one also signs for ${hours} more hour${hours === 1 ? "" : "s"}.`,
                label: "Signing secret",
                secret,
                id: "issued-secret",
                copyLabel: "Copy secret",
              }),
            );
            announce("Signing secret rotated; the new one is shown only this once");
          },
        );
      },
    },
    field("Overlap (hours)", overlap, "How long the old secret keeps signing beside the new one, so the receiver can switch without refusing a delivery."),
    h("button", { type: "submit", class: "secondary" }, "Rotate secret"),
  );

  const deleteButton = h(
    "button",
    {
      type: "button",
      class: "danger",
      onclick: async () => {
        const url = endpoint?.url ?? id;
        const sure = window.confirm(`Delete the endpoint ${url}? Nothing more is delivered to it, and its delivery log goes with it.`);
        if (!sure) return;
        feedback.replaceChildren();
        try {
          await api.delete(path);
          tellDeleted(url);
          navigate(listingPath);
        } catch (error) {
          fill(feedback, message("error", error.message));
        }
      },
    },
    "Delete endpoint",
  );

  const showDeliveries = paged(
    deliveries,
    "Delivery pages",
    (before) => api.get(`${path}/deliveries`, { limit: PAGE, before }),
    (page, result) => {
      const first = (page - 1) * PAGE + 1;
      return table({
        caption: `Delivery attempts ${first}–${first + result.attempts.length - 1}, newest first`,
        empty: "Nothing has been delivered to this endpoint yet.",
        rows: result.attempts,
        rowProps: (attempt) => (attempt.succeeded ? {} : { class: "failed" }),
        columns: [
          { label: "Time", class: "when", cell: (attempt) => time(attempt.at) },
          { label: "Event", cell: (attempt) => [h("code", {}, attempt.eventType), h("div", { class: "muted" }, h("code", {}, attempt.eventId))] },
          { label: "Attempt", class: "number", cell: (attempt) => String(attempt.attempt) },
          { label: "Outcome", cell: (attempt) => outcomeOf(attempt) },
          { label: "Latency", class: "number", cell: (attempt) => latencyOf(attempt) },
          { label: "Answer", class: "answer-cell", cell: (attempt) => answerOf(attempt) },
        ],
      });
    },
    { entriesOf: (result) => result.attempts, nextOf: (result) => result.next },
  );

  fill(
    view,
    heading,
    h("p", { class: "lead" }, h("a", { href: hrefOf(listingPath) }, "Webhooks"), " of ", instance),
    banner,
    facts,
    h(
      "section",
      { "aria-labelledby": "webhook-actions" },
      h("h2", { id: "webhook-actions" }, "Actions"),
      h("div", { class: "panel toolbar" }, testButton, toggle, deleteButton),
      feedback,
      replayForm,
      rotateForm,
    ),
    h(
      "section",
      { "aria-labelledby": "webhook-deliveries" },
      h("div", { class: "section-head" },
        h("h2", { id: "webhook-deliveries" }, "Deliveries"),
        h("button", { type: "button", class: "secondary", onclick: () => showDeliveries(1) }, "Refresh deliveries")),
      deliveries,
    ),
  );
  try {
    const { endpoint: current } = await api.get(path);
    draw(current);
  } catch (error) {
    fill(facts, message("error", error.message));
    return;
  }
  await showDeliveries(1);
}
