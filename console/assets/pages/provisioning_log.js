// The provisioning log of one instance: every SCIM request with its outcome, searched by
// userName, correlation id, key, externalId and time, so that a support engineer can answer "why was
// alice@corp not created?"; a failed request opens onto its SCIM error and its body as scimd
// kept it (credentials already redacted by scimd).
import { instancePath } from "../api.js";
import { announce, field, fill, formatTime, h, message, pager, pickedRange, table, time, timePicker, uniqueId } from "../dom.js";

const PAGE_SIZE = 50;
// The address's filters, named as the admin API names them, so they pass straight through.
const FILTERS = ["failed", "user", "correlationId", "key", "externalId", "since", "until"];

function filtersOf(query) {
  const filters = {};
  for (const name of FILTERS) {
    if (query[name]) filters[name] = query[name];
  }
  if (filters.failed !== "true") delete filters.failed;
  return filters;
}

function emptyText(filters) {
  const narrowed = Object.keys(filters).some((name) => name !== "failed");
  if (filters.failed) return narrowed ? "No failed requests match these filters." : "No failed requests match: every request recorded for this instance succeeded.";
  if (narrowed) return "No requests match these filters.";
  return "No SCIM requests have been recorded for this instance yet (or they are older than the log keeps).";
}

function statusCell(entry) {
  return entry.failed
    ? [h("span", { class: "badge failed" }, "Failed"), " ", String(entry.status)]
    : String(entry.status);
}

/** Why a failed request failed, in one line, as `scimd provisioning-log` prints it. */
function errorText(entry) {
  if (!entry.failed) return "";
  const parts = [entry.scimType, entry.detail].filter(Boolean);
  return parts.length ? parts.join(": ") : `HTTP ${entry.status}`;
}

/**
 * Whom a request was about: the userName it named or (by id) the user's name at the time; for
 * a body scimd could not read, that it could not, rather than a blank.
 */
function userNameCell(entry) {
  if (entry.userName) return entry.userName;
  if (typeof entry.body === "string") return h("span", { class: "muted" }, `unknown (${entry.body})`);
  return "";
}

function latency(ms) {
  return typeof ms === "number" ? `${ms.toFixed(1)} ms` : "";
}

function fact(term, value) {
  if (value === undefined || value === null || value === "") return null;
  return [h("dt", {}, term), h("dd", {}, value)];
}

/** What a request's detail shows: its SCIM error, who sent it, what it was about, its body. */
function detailOf(entry, { instance, hrefOf }) {
  const resource =
    entry.resourceId && entry.resourceType === "User"
      ? h("a", { href: hrefOf(`/instances/${encodeURIComponent(instance)}/users/${encodeURIComponent(entry.resourceId)}`) }, entry.resourceId)
      : entry.resourceId && h("code", {}, entry.resourceId);
  const error = entry.failed
    ? h(
        "div",
        { class: "log-error" },
        h("h3", {}, "SCIM error"),
        h(
          "dl",
          { class: "facts" },
          fact("Status", String(entry.status)),
          fact("scimType", entry.scimType ?? "none"),
          fact("Detail", entry.detail ?? "none given"),
        ),
      )
    : null;
  let body;
  if (entry.body === null || entry.body === undefined) {
    body = h("p", { class: "hint" }, entry.failed ? "The request had no body." : "Only failed requests keep their body.");
  } else if (typeof entry.body === "string") {
    // scimd's note saying why it kept no body (too large, not JSON): text, not a document.
    body = h("p", { class: "withheld" }, entry.body);
  } else {
    body = h("pre", {}, JSON.stringify(entry.body, null, 2));
  }
  return h(
    "div",
    { class: "log-detail" },
    error,
    h(
      "div",
      {},
      h("h3", {}, "Request"),
      h(
        "dl",
        { class: "facts" },
        fact("At", time(entry.at)),
        fact("Request", `${entry.method} ${entry.path}`),
        fact("Correlation id", h("code", {}, entry.correlationId)),
        fact("Key id", entry.keyId && h("code", {}, entry.keyId)),
        fact("User agent", entry.userAgent),
        fact("Resource type", entry.resourceType),
        fact("Resource id", resource),
        fact("userName", userNameCell(entry)),
        fact("externalId", entry.externalId),
        fact("Latency", latency(entry.latencyMs)),
      ),
    ),
    h("div", { class: "log-body" }, h("h3", {}, "Request body (credentials redacted)"), body),
  );
}

export async function render(view, { api, params, query, navigate, hrefOf }) {
  const { instance } = params;
  const path = `/instances/${encodeURIComponent(instance)}/provisioning-log`;
  const filters = filtersOf(query);
  const listing = h("div", { "aria-busy": "false" });
  const heading = h("h2", { id: "log-results", tabindex: "-1" }, "Requests");
  // Cursors of the pages before the current one; the first page has none.
  const cursors = [];
  let cursor = null;

  const failed = h("input", { type: "checkbox", name: "failed", checked: filters.failed === "true" });
  const user = h("input", { type: "search", name: "user", value: filters.user ?? "", autocomplete: "off", spellcheck: "false" });
  const correlationId = h("input", { type: "search", name: "correlationId", value: filters.correlationId ?? "", autocomplete: "off", spellcheck: "false" });
  const externalId = h("input", { type: "search", name: "externalId", value: filters.externalId ?? "", autocomplete: "off", spellcheck: "false" });
  const key = h("select", { name: "key" }, h("option", { value: "" }, "Any key"));
  const since = timePicker("since", filters.since);
  const until = timePicker("until", filters.until);
  const formProblem = h("div", {});

  const form = h(
    "form",
    {
      class: "panel log-search",
      role: "search",
      "aria-label": "Search the provisioning log",
      onsubmit: (event) => {
        event.preventDefault();
        const { range, problem } = pickedRange(since, until);
        if (problem) {
          fill(formProblem, message("error", problem));
          since.focus();
          return;
        }
        navigate(path, {
          failed: failed.checked ? "true" : "",
          user: user.value.trim(),
          correlationId: correlationId.value.trim(),
          key: key.value,
          externalId: externalId.value.trim(),
          ...range,
        });
      },
    },
    h(
      "div",
      { class: "log-fields" },
      field("userName", user, "Exactly as the identity provider sent it, in any case. Also finds requests by id to a user who had this name."),
      field("Correlation id", correlationId, "The X-Request-Id scimd answered with, in any case; every SCIM error quotes it at the end of its detail."),
      field("Key", key, "The key that sent the requests, revoked keys included."),
      field("externalId", externalId, "Exactly, case included."),
      field("From", since, "UTC, to the second; included."),
      field("Until", until, "UTC, to the second; the whole second included."),
    ),
    formProblem,
    h(
      "div",
      { class: "log-actions" },
      field("Failed requests only", failed),
      h("button", { type: "submit" }, "Search"),
      h("button", { type: "button", class: "secondary", onclick: () => navigate(path, {}) }, "Clear filters"),
    ),
  );

  function toggle(button, row, entry) {
    const opening = row.hidden;
    if (opening && !row.firstChild) {
      row.append(h("td", { colspan: "8" }, detailOf(entry, { instance, hrefOf })));
    }
    row.hidden = !opening;
    // The text stays "Details" (it is in the button's name); aria-expanded and its style say open.
    button.setAttribute("aria-expanded", String(opening));
  }

  function withDetails(tableWrap, entries, label) {
    const rows = tableWrap.querySelectorAll("tbody > tr");
    rows.forEach((row, index) => {
      const entry = entries[index];
      const detail = h("tr", { id: uniqueId("log-detail"), class: "log-detail-row", hidden: true });
      const button = h(
        "button",
        {
          type: "button",
          class: "secondary",
          "aria-expanded": "false",
          "aria-controls": detail.id,
          "aria-label": `Details of ${label(entry)}`,
        },
        "Details",
      );
      button.addEventListener("click", () => toggle(button, detail, entry));
      row.querySelector("td.actions").append(button);
      row.after(detail);
    });
  }

  async function load(focus) {
    listing.setAttribute("aria-busy", "true");
    let page;
    try {
      page = await api.get(instancePath(instance, "/provisioning-log"), {
        ...filters,
        count: PAGE_SIZE,
        order: "newest",
        cursor: cursor ?? undefined,
      });
    } catch (error) {
      listing.setAttribute("aria-busy", "false");
      fill(listing, message("error", error.message));
      return;
    }
    const entries = page.entries ?? [];
    const number = cursors.length + 1;
    const first = (number - 1) * PAGE_SIZE + 1;
    const label = (entry) => `${entry.method} ${entry.path} at ${formatTime(entry.at)}`;
    const shown = table({
      caption: `Requests ${first}–${first + entries.length - 1}, newest first`,
      empty: emptyText(filters),
      rows: entries,
      rowProps: (entry) => ({ class: entry.failed ? "entry failed" : "entry" }),
      columns: [
        { label: "Time", cell: (entry) => time(entry.at) },
        { label: "Request", cell: (entry) => [h("span", { class: "method" }, entry.method), " ", h("code", {}, entry.path)] },
        { label: "Status", cell: statusCell },
        { label: "userName", cell: userNameCell },
        { label: "Correlation id", cell: (entry) => h("code", {}, entry.correlationId) },
        { label: "Latency", class: "number", cell: (entry) => latency(entry.latencyMs) },
        { label: "Error", class: "log-error-text", cell: errorText },
        { label: "Details", class: "actions", cell: () => "" },
      ],
    });
    if (entries.length > 0) withDetails(shown, entries, label);
    const next = page.nextCursor;
    const paging =
      number > 1 || next
        ? pager({
            label: "Provisioning log pages",
            page: number,
            onPrevious:
              number > 1
                ? () => {
                    cursor = cursors.pop();
                    load("Previous page");
                  }
                : undefined,
            onNext: next
              ? () => {
                  cursors.push(cursor);
                  cursor = next;
                  load("Next page");
                }
              : undefined,
          })
        : null;
    fill(listing, shown, paging ?? "");
    listing.setAttribute("aria-busy", "false");
    if (focus) {
      // The button pressed was replaced: keep the reader on it, or at the results' start
      // when it no longer applies (the first or last page).
      const again = [...listing.querySelectorAll(".pager button")].find(
        (button) => button.textContent === focus && !button.disabled,
      );
      (again ?? heading).focus();
      announce(`Page ${number}, ${entries.length} request${entries.length === 1 ? "" : "s"}`);
    }
  }

  // The instance's keys, newest first, to pick one; a key in the address stays picked even
  // when it is not listed (another instance's, or mistyped), so that the form shows the search.
  try {
    const keys = await api.get(instancePath(instance, "/keys"));
    const listed = [...keys].reverse().map((one) =>
      h("option", { value: one.keyId }, `${one.keyId} (${one.integrationUser}${one.revokedAt ? ", revoked" : ""})`));
    key.append(...listed);
  } catch {
    // The filter still works from the address without the list.
  }
  if (filters.key && ![...key.options].some((option) => option.value === filters.key)) {
    key.append(h("option", { value: filters.key }, filters.key));
  }
  key.value = filters.key ?? "";

  view.append(
    h("h1", {}, `Provisioning log of ${instance}`),
    h(
      "p",
      { class: "lead" },
      "Every SCIM request the identity provider made, newest first. Failed requests keep their SCIM error and their body, with passwords and other credentials redacted.",
    ),
    form,
    h("section", { "aria-labelledby": "log-results" }, heading, listing),
  );
  await load(null);
}
