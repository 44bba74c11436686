// One user: as scimd serves it now or as it was at a past moment (`?at=`, derived from the
// event log by the admin API), its application directory entry, and its timeline (the change
// history of its id, with the member changes of the groups it joined and left, oldest first
// like the history page, 50 entries a page).
import { instancePath } from "../api.js";
import { field, fill, formatTime, fromPickerValue, h, message, pagedTo, pager, table, time, timePicker } from "../dom.js";
import { groupHref, historyColumns } from "./history.js";

const PAGE = 50;

function text(value) {
  if (value === undefined || value === null || value === "") return null;
  return typeof value === "string" ? value : JSON.stringify(value);
}

/** A multi-valued attribute (emails, phoneNumbers) as one line per value, with type and primary. */
function values(list, show = (item) => item.value) {
  if (!Array.isArray(list) || list.length === 0) return null;
  return h("ul", { class: "plain" }, list.map((item) => {
    const notes = [item.type, item.primary ? "primary" : null].filter(Boolean).join(", ");
    const shown = show(item);
    return h("li", {}, shown instanceof Node ? shown : text(shown) ?? "", notes ? h("span", { class: "muted" }, ` (${notes})`) : null);
  }));
}

function fullName(name) {
  if (!name) return null;
  return name.formatted ?? [name.honorificPrefix, name.givenName, name.middleName, name.familyName, name.honorificSuffix]
    .filter(Boolean).join(" ");
}

/** The facts an administrator looks for first, as a definition list (absent ones left out). */
function facts(user, groupLink) {
  const enterprise = user["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"] ?? {};
  const rows = [
    ["userName", user.userName],
    ["id", user.id ? h("code", {}, user.id) : null],
    ["externalId", user.externalId],
    ["active", user.active === undefined ? null : user.active ? "Yes" : "No (suspended)"],
    ["Name", fullName(user.name)],
    ["displayName", user.displayName],
    ["title", user.title],
    ["emails", values(user.emails)],
    ["phoneNumbers", values(user.phoneNumbers)],
    ["roles", values(user.roles)],
    ["groups", values(user.groups, groupLink)],
    ["department", enterprise.department],
    ["manager", enterprise.manager ? enterprise.manager.displayName ?? enterprise.manager.value : null],
    ["Created", user.meta?.created ? time(user.meta.created) : null],
    ["Last modified", user.meta?.lastModified ? time(user.meta.lastModified) : null],
  ];
  return h("dl", { class: "facts" }, rows
    .filter(([, value]) => value !== null && value !== undefined && value !== "")
    .map(([name, value]) => [h("dt", {}, name), h("dd", {}, value instanceof Node ? value : text(value))]));
}

export async function render(view, { api, params, query, navigate, hrefOf }) {
  const { instance, id } = params;
  const at = query.at ?? "";
  const path = `/instances/${encodeURIComponent(instance)}/users/${encodeURIComponent(id)}`;
  const heading = h("h1", {}, `User ${id}`);
  const current = h("div", {}, h("p", { class: "empty" }, "Loading…"));
  const directory = h("div", {});
  const timeline = h("div", {}, h("p", { class: "empty" }, "Loading…"));
  const asOf = (moment) => navigate(path, { at: moment });
  // The user's SCIM requests, found by a userName it has had (requests by id included); shown
  // once a name is known.
  const requests = h("span", {});
  const linkRequests = (userName) => {
    if (!userName || requests.firstChild) return;
    const log = `/instances/${encodeURIComponent(instance)}/provisioning-log`;
    requests.append(" · ", h("a", { href: hrefOf(log, { user: userName }) }, "Requests of this user"), " in the provisioning log");
  };

  const moment = timePicker("at", at);
  const asOfForm = h(
    "form",
    {
      class: "panel inline",
      "aria-label": "Show the user as of a moment",
      onsubmit: (event) => {
        event.preventDefault();
        asOf(fromPickerValue(moment.value, { endOfSecond: true }));
      },
    },
    field("Show the user as of", moment, "UTC, to the second; leave empty for now."),
    h("button", { type: "submit" }, "Show as of"),
    at ? h("a", { href: hrefOf(path) }, "Back to now") : null,
  );
  const banner = at
    ? h(
        "div",
        { class: "message as-of", role: "status" },
        "Showing this user as it was at ",
        h("strong", {}, time(at)),
        ", not as it is now. ",
        h("a", { href: hrefOf(path) }, "Back to now"),
      )
    : null;

  async function showUser() {
    let user;
    try {
      user = await api.get(instancePath(instance, `/users/${encodeURIComponent(id)}`), { at });
    } catch (error) {
      // The API's 404 reasons (not created yet, deleted, unknown id) say it best.
      fill(current, message("error", error.message));
      return;
    }
    heading.textContent = `User ${user.userName ?? id}`;
    linkRequests(user.userName);
    fill(current, 
      facts(user, (group) => h("a", { href: groupHref(hrefOf, instance, group.value) }, group.display ?? group.value)),
      h("details", { class: "raw-json" }, h("summary", {}, "SCIM JSON"), h("pre", {}, JSON.stringify(user, null, 2))),
    );
    // The directory entry exists only now: as of a past moment it would mislead.
    if (!at && user.userName) await showDirectory(user.userName);
  }

  async function showDirectory(userName) {
    let entry;
    try {
      entry = await api.get(instancePath(instance, `/directory/${encodeURIComponent(userName)}`));
    } catch (error) {
      fill(directory, message("error", `No directory entry: ${error.message}`));
      return;
    }
    const fields = Object.entries(entry.fields ?? {});
    const manager = entry.manager
      ? [entry.manager.reference, entry.manager.id ? "" : " (not provisioned yet)"]
      : "none";
    fill(directory, 
      h("section", { "aria-labelledby": "directory-heading" },
        h("h2", { id: "directory-heading" }, "Application directory entry"),
        h("dl", { class: "facts" },
          h("dt", {}, "State"), h("dd", {}, entry.state),
          h("dt", {}, "Managed by SCIM"), h("dd", {}, entry.managedByScim ? "Yes" : "No"),
          h("dt", {}, "Manager"), h("dd", {}, manager),
          fields.map(([name, value]) => [h("dt", {}, name), h("dd", {}, text(value) ?? "")]))),
    );
  }

  const cursors = [null];
  let namedInTimeline;
  async function showTimeline(page) {
    let result;
    try {
      result = await api.get(instancePath(instance, "/history"), { id, count: PAGE, cursor: cursors[page - 1] });
    } catch (error) {
      fill(timeline, message("error", error.message));
      return;
    }
    if (result.nextCursor) cursors[page] = result.nextCursor;
    // A user deleted since has no current userName: its first entry names it.
    namedInTimeline ??= result.entries.find((entry) => entry.entityName)?.entityName;
    const first = (page - 1) * PAGE + 1;
    const columns = historyColumns(instance, hrefOf, { entity: false, subject: id });
    columns.push({
      label: "As of",
      class: "actions",
      cell: (entry) =>
        h(
          "button",
          {
            type: "button",
            class: "secondary",
            onclick: () => asOf(entry.occurredAt),
            "aria-label": `View as of this change: ${entry.action} at ${formatTime(entry.occurredAt)}`,
          },
          "View as of this change",
        ),
    });
    fill(timeline, 
      table({
        caption: `Changes ${first}–${first + result.entries.length - 1} to this user, oldest first`,
        empty: "No change to this user is recorded.",
        rows: result.entries,
        columns,
        // The change the "as of" view stops at, when it was picked from here.
        rowProps: (entry) => (entry.occurredAt === at ? { class: "as-of-row", "aria-current": "true" } : {}),
      }),
      result.entries.length > 0 || page > 1
        ? pager({
            label: "Timeline pages",
            page,
            onPrevious: page > 1 ? () => showTimeline(page - 1).then(() => pagedTo(timeline, "Previous page", page - 1)) : undefined,
            onNext: result.nextCursor ? () => showTimeline(page + 1).then(() => pagedTo(timeline, "Next page", page + 1)) : undefined,
          })
        : "",
    );
  }

  view.append(
    heading,
    h("p", { class: "lead" }, h("a", { href: hrefOf(`/instances/${encodeURIComponent(instance)}/history`) }, "Change history"), " of ", instance, requests),
    banner ?? "",
    asOfForm,
    h("section", { "aria-labelledby": "user-now" },
      h("h2", { id: "user-now" }, at ? "As it was then" : "As scimd serves it now"), current),
    directory,
    h("section", { "aria-labelledby": "user-timeline" }, h("h2", { id: "user-timeline" }, "Timeline"), timeline),
  );
  await Promise.all([showUser(), showTimeline(1)]);
  linkRequests(namedInTimeline);
}
