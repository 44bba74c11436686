// The change history of one instance: who changed what and when, filtered (user, actor, action,
// time range), read 50 entries at a time oldest or newest first, and exported whole as JSON
// Lines or CSV like `scimd history` (always in the event log's order, as the CLI writes them).
import { instancePath } from "../api.js";
import { download, field, fill, h, message, pagedTo, pager, pickedRange, table, time, timePicker } from "../dom.js";

const PAGE = 50;
// The admin API's largest page, so that exports take as few round trips as possible.
const EXPORT_PAGE = 1000;

/** Every event type the history records, by what it is about (the `action` filter's values). */
export const ACTIONS = {
  Users: [
    "UserCreated", "UserImported", "UserAdopted", "UserUpdated", "UserMapped", "ManagerPending",
    "ManagerLinked", "ManagerUnlinked", "UserSuspended", "UserReactivated", "UserDeleted",
  ],
  Groups: [
    "GroupCreated", "GroupImported", "GroupAdopted", "GroupRenamed", "GroupExternalIdChanged",
    "GroupMemberAdded", "GroupMemberRemoved", "GroupDeleted",
  ],
  "Instance settings": [
    "FieldAdded", "MappingSet", "MappingDeleted", "MappingsReset", "AllowedRolesSet",
    "AnyRoleAllowed", "DefaultRolesSet",
  ],
};

// Columns exactly as `scimd history --format csv` writes them (CSV_HEADER in src/cli/history.rs).
const CSV_COLUMNS = [
  ["position", "position"], ["occurred_at", "occurredAt"], ["actor", "actor"], ["key_id", "keyId"],
  ["source", "source"], ["user_agent", "userAgent"], ["correlation_id", "correlationId"],
  ["entity_type", "entityType"], ["entity_id", "entityId"], ["entity_name", "entityName"],
  ["action", "action"], ["details", "details"], ["member_type", "memberType"],
  ["member_id", "memberId"], ["member_name", "memberName"],
];

/** The link to a user's detail page. */
export function userHref(hrefOf, instance, id) {
  return hrefOf(`/instances/${encodeURIComponent(instance)}/users/${encodeURIComponent(id)}`);
}

/** The link to a group's page. */
export function groupHref(hrefOf, instance, id) {
  return hrefOf(`/instances/${encodeURIComponent(instance)}/groups/${encodeURIComponent(id)}`);
}

// A change line longer than this is likely cut off by the cell (one line each, so that 50 rows
// stay short); the full details are then one click away.
const LONG = 56;
const SHOWN_CHANGES = 3;

function shown(value) {
  if (value === undefined || value === null) return "(none)";
  return typeof value === "string" ? value : JSON.stringify(value);
}

/** An entry's details as lines of `{label, old, new}` (`old` left out when nothing preceded). */
function changesOf(entry) {
  const d = entry.details ?? {};
  const set = (label, value) => ({ label, new: value });
  const change = (label, old, value) => ({ label, old: old ?? null, new: value, hasOld: true });
  switch (entry.action) {
    case "UserCreated":
    case "UserImported":
      return [
        set("userName", d.user_name),
        ...(d.external_id ? [set("externalId", d.external_id)] : []),
        ...Object.entries(d.attributes ?? {}).map(([name, value]) => set(name, value)),
      ];
    case "UserUpdated":
      return (d.changes ?? []).map((c) =>
        change(c.sub_attribute ? `${c.attribute}.${c.sub_attribute}` : c.attribute, c.old, c.new));
    case "UserMapped":
      return (d.changes ?? []).map((c) => change(c.field, c.old, c.new));
    case "GroupRenamed":
      return [change("displayName", d.old_display_name, d.new_display_name)];
    case "GroupExternalIdChanged":
      return [change("externalId", d.old_external_id, d.new_external_id)];
    case "MappingSet":
      return [change(d.field, d.previous, d.attribute)];
    case "MappingDeleted":
      return [change(d.field, d.attribute, null)];
    case "MappingsReset":
      return [change("mapping", d.previous, d.mapping)];
    case "AllowedRolesSet":
    case "DefaultRolesSet":
      return [change("roles", d.previous, d.roles)];
    case "AnyRoleAllowed":
      return [change("roles", d.previous, "any")];
    default:
      if (d === null || typeof d !== "object") return [];
      return Object.entries(d).map(([name, value]) => set(name, value));
  }
}

/**
 * What an entry changed, compactly: at most three one-line `name: old → new` items; when more
 * changed or a line is long, the first two and a toggle showing the entry's full details.
 */
export function changeList(entry) {
  const lines = changesOf(entry).map((line) => ({
    ...line,
    oldText: line.hasOld ? shown(line.old) : null,
    newText: shown(line.new),
  }));
  if (lines.length === 0) return h("span", { class: "muted" }, "—");
  const long = (line) => line.label.length + (line.oldText?.length ?? 0) + line.newText.length > LONG;
  const folded = lines.length > SHOWN_CHANGES || lines.some(long);
  const items = lines.slice(0, folded ? SHOWN_CHANGES - 1 : SHOWN_CHANGES).map((line) => {
    const whole = `${line.label}: ${line.hasOld ? `${line.oldText} → ` : ""}${line.newText}`;
    return h(
      "li",
      { title: whole },
      h("span", { class: "change-name" }, `${line.label}: `),
      line.hasOld ? [h("span", { class: "change-old" }, line.oldText), " → "] : null,
      h("span", { class: "change-new" }, line.newText),
    );
  });
  const hidden = lines.length - items.length;
  return [
    h("ul", { class: "changes" }, items),
    folded
      ? h("details", { class: "entry-details" },
          h("summary", {}, hidden > 0 ? `${hidden} more: all details` : "All details"),
          h("pre", {}, JSON.stringify(entry.details, null, 2)))
      : null,
  ];
}

/**
 * A group's member change, told from the group's side (whom it added or removed, by the name
 * the member had then, a user linking to its page) or, on the member's own timeline
 * (`subject`: its id), from the member's (which group it joined or left, by the group's name
 * then). A group's deletion is told the same way for each member it still had.
 */
function memberChange(entry, { instance, hrefOf, subject }) {
  const added = entry.action === "GroupMemberAdded";
  // A group's deletion names each member it still had: they left it then.
  const deleted = entry.action === "GroupDeleted";
  if (subject && entry.memberId === subject) {
    const label = added ? "Added to group" : deleted ? "Left deleted group" : "Removed from group";
    const group = entry.entityName ?? entry.entityId;
    return h("ul", { class: "changes" },
      h("li", { title: `${label} ${group}` },
        h("span", { class: "change-name" }, `${label}: `), h("a", { href: groupHref(hrefOf, instance, entry.entityId) }, group)));
  }
  const kind = entry.memberType === "Group" ? "group" : "user";
  const label = added ? `added ${kind}` : `removed ${kind}${deleted ? " (group deleted)" : ""}`;
  const name = entry.memberName ?? entry.memberId;
  return h("ul", { class: "changes" },
    h("li", { title: `${label}: ${name}` },
      h("span", { class: "change-name" }, `${label}: `),
      h("a", { href: (entry.memberType === "User" ? userHref : groupHref)(hrefOf, instance, entry.memberId) }, name)),
    h("li", { class: "member-id muted", title: entry.memberId }, "id ", h("code", {}, entry.memberId)));
}

/** What an entry changed; a member change names its member (see `memberChange`). */
function whatChanged(entry, context) {
  return entry.memberId ? memberChange(entry, context) : changeList(entry);
}

/** The entity an entry is about; users link to their detail page. */
function entityCell(entry, instance, hrefOf) {
  const name = entry.entityName ?? entry.entityId;
  const label = entry.entityType === "InstanceSettings" ? "Instance settings" : entry.entityType;
  return [
    h("span", { class: "entity-type" }, label),
    entry.entityType === "InstanceSettings"
      ? null
      : [" ", entry.entityType === "User"
        ? h("a", { href: userHref(hrefOf, instance, entry.entityId) }, name)
        : entry.entityType === "Group"
          ? h("a", { href: groupHref(hrefOf, instance, entry.entityId) }, name)
          : h("span", {}, name)],
  ];
}

/**
 * An entry's correlation id; for a change an identity provider's request made (it came with a
 * key), a link to that request in the provisioning log.
 */
function correlationCell(entry, instance, hrefOf) {
  const id = h("code", {}, entry.correlationId);
  if (!entry.keyId) return id;
  const log = `/instances/${encodeURIComponent(instance)}/provisioning-log`;
  return h("a", { href: hrefOf(log, { correlationId: entry.correlationId }), title: "The request in the provisioning log" }, id);
}

/**
 * The columns of a history table; `entity: false` leaves out whom it is about and `subject`
 * names it (a user's timeline, where its groups' member changes say which group).
 */
export function historyColumns(instance, hrefOf, { entity = true, subject = null } = {}) {
  return [
    { label: "Time", class: "when", cell: (entry) => time(entry.occurredAt) },
    {
      label: "Actor",
      cell: (entry) => [
        entry.actor,
        h("div", { class: "source muted" }, "via ", entry.source),
        entry.keyId ? h("div", { class: "key-id muted" }, "key ", h("code", {}, entry.keyId)) : null,
      ],
    },
    { label: "Action", class: "action", cell: (entry) => h("code", {}, entry.action) },
    entity ? { label: "Entity", cell: (entry) => entityCell(entry, instance, hrefOf) } : null,
    { label: "What changed", class: "what-changed", cell: (entry) => whatChanged(entry, { instance, hrefOf, subject }) },
    { label: "Correlation id", class: "correlation", cell: (entry) => correlationCell(entry, instance, hrefOf) },
  ].filter(Boolean);
}

// A cell a spreadsheet would evaluate as a formula gets a leading "'" (CSV injection), by the
// same rule as `scimd history --format csv` (src/cli/spreadsheet.rs): the exports stay identical.
const FORMULA_START = /^[=+\-@\t\r]/;

function csvField(value) {
  const raw = value === null || value === undefined ? "" : typeof value === "string" ? value : String(value);
  const text = FORMULA_START.test(raw) ? `'${raw}` : raw;
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

function csvLine(entry) {
  return CSV_COLUMNS.map(([, key]) =>
    csvField(key === "details" ? JSON.stringify(entry.details) : entry[key])).join(",");
}

export async function render(view, { api, params, query, navigate, hrefOf }) {
  const { instance } = params;
  const base = `/instances/${encodeURIComponent(instance)}/history`;
  const filter = {
    user: query.user ?? "",
    actor: query.actor ?? "",
    action: query.action ?? "",
    since: query.since ?? "",
    until: query.until ?? "",
  };
  const newest = query.order === "newest";
  const filtered = Object.values(filter).some((value) => value !== "");
  const listing = h("div", {}, h("p", { class: "empty" }, "Loading…"));
  const exportStatus = h("div", { class: "export-status", role: "status" });
  const finder = h("div", {});

  // Filters: read from the address, written back to it (applying them starts at page 1).
  const user = h("input", { type: "text", name: "user", value: filter.user, autocomplete: "off" });
  const actor = h("input", { type: "text", name: "actor", value: filter.actor, autocomplete: "off", list: "history-actors" });
  const actors = h("datalist", { id: "history-actors" });
  const action = h(
    "select",
    { name: "action" },
    h("option", { value: "" }, "Any action"),
    Object.entries(ACTIONS).map(([group, names]) =>
      h("optgroup", { label: group }, names.map((name) => h("option", { value: name }, name)))),
    filter.action && !Object.values(ACTIONS).flat().includes(filter.action)
      ? h("option", { value: filter.action }, filter.action)
      : null,
  );
  action.value = filter.action;
  const since = timePicker("since", filter.since);
  const until = timePicker("until", filter.until);
  const filterProblem = h("div", {});
  const order = h("select", { name: "order" },
    h("option", { value: "" }, "Oldest first"), h("option", { value: "newest" }, "Newest first"));
  order.value = newest ? "newest" : "";

  const filters = h(
    "form",
    {
      class: "panel inline history-filters",
      "aria-label": "Filter the history",
      onsubmit: (event) => {
        event.preventDefault();
        const { range, problem } = pickedRange(since, until);
        if (problem) {
          fill(filterProblem, message("error", problem));
          since.focus();
          return;
        }
        navigate(base, {
          user: user.value.trim(),
          actor: actor.value.trim(),
          action: action.value,
          ...range,
          order: order.value,
        });
      },
    },
    field("User name", user, "Or group name; any case. Includes its group memberships."),
    field("Actor", actor, "An integration user, an administrator, or the bootstrap admin token."),
    actors,
    field("Action", action),
    field("From", since, "UTC, to the second; included."),
    field("Until", until, "UTC, to the second; the whole second included."),
    field("Order", order),
    h("div", { class: "form-buttons" },
      h("button", { type: "submit" }, "Apply filters"),
      filtered ? h("a", { href: hrefOf(base) }, "Clear filters") : null),
  );

  // The instance's integration users, offered as actors; the filter works without them.
  api.get(instancePath(instance, "/keys")).then((keys) => {
    const names = [...new Set(keys.map((key) => key.integrationUser))].sort();
    fill(actors, ...names.map((name) => h("option", { value: name })));
  }, () => {});

  const cursors = [null];
  async function show(page) {
    let result;
    try {
      const query = { ...filter, order: newest ? "newest" : "", count: PAGE, cursor: cursors[page - 1] };
      result = await api.get(instancePath(instance, "/history"), query);
    } catch (error) {
      fill(listing, message("error", error.message));
      return;
    }
    if (result.nextCursor) cursors[page] = result.nextCursor;
    const first = (page - 1) * PAGE + 1;
    const entries = result.entries;
    fill(listing, 
      table({
        caption: `Changes ${first}–${first + entries.length - 1}, ${newest ? "newest" : "oldest"} first`,
        empty: filtered ? "No change matches these filters." : "No change has been recorded in this instance yet.",
        rows: entries,
        columns: historyColumns(instance, hrefOf),
      }),
      entries.length > 0 || page > 1
        ? pager({
            label: "History pages",
            page,
            onPrevious: page > 1 ? () => show(page - 1).then(() => pagedTo(listing, "Previous page", page - 1)) : undefined,
            onNext: result.nextCursor ? () => show(page + 1).then(() => pagedTo(listing, "Next page", page + 1)) : undefined,
          })
        : "",
    );
  }

  // Exports read every page of the filtered history, 1000 entries a round trip.
  async function exportAs(format) {
    const lines = format === "csv" ? [CSV_COLUMNS.map(([name]) => name).join(",")] : [];
    let cursor = null;
    let count = 0;
    exportStatus.textContent = "Exporting…";
    try {
      do {
        const result = await api.get(instancePath(instance, "/history"), { ...filter, count: EXPORT_PAGE, cursor });
        for (const entry of result.entries) {
          lines.push(format === "csv" ? csvLine(entry) : JSON.stringify(entry));
        }
        count += result.entries.length;
        cursor = result.nextCursor;
        if (cursor) exportStatus.textContent = `Exporting… ${count} entries so far`;
      } while (cursor);
    } catch (error) {
      fill(exportStatus, message("error", `Export failed: ${error.message}`));
      return;
    }
    const text = lines.length ? `${lines.join("\n")}\n` : "";
    const name = `history-${instance}.${format === "csv" ? "csv" : "jsonl"}`;
    download(name, format === "csv" ? "text/csv" : "application/x-ndjson", text);
    exportStatus.textContent = `Exported ${count} entr${count === 1 ? "y" : "ies"} as ${name}.`;
  }

  const lookup = h("input", { type: "text", name: "userName", autocomplete: "off", required: true });
  const findForm = h(
    "form",
    {
      class: "panel inline",
      "aria-label": "Find a user",
      onsubmit: async (event) => {
        event.preventDefault();
        finder.replaceChildren();
        const userName = lookup.value.trim();
        try {
          const entry = await api.get(instancePath(instance, `/directory/${encodeURIComponent(userName)}`));
          navigate(`/instances/${encodeURIComponent(instance)}/users/${encodeURIComponent(entry.id)}`);
        } catch (error) {
          // No user has exactly this name: the users it starts are likely what was meant (an
          // unknown instance the users page reports itself).
          if (error.status === 404) {
            navigate(`/instances/${encodeURIComponent(instance)}/users`, { q: userName });
            return;
          }
          fill(finder, message("error", error.message));
          lookup.focus();
        }
      },
    },
    field("Find a user by userName", lookup, "Opens the user's details and timeline; part of a name, display name or email address lists the users it starts."),
    h("button", { type: "submit" }, "Open user"),
  );

  view.append(
    h("h1", {}, `Change history of ${instance}`),
    h("p", { class: "lead" }, "Every change to users, groups and settings, with who made it and through which request."),
    findForm,
    finder,
    filters,
    filterProblem,
    h(
      "div",
      { class: "export" },
      h("button", { type: "button", class: "secondary", onclick: () => exportAs("jsonl") }, "Export JSON Lines"),
      h("button", { type: "button", class: "secondary", onclick: () => exportAs("csv") }, "Export CSV"),
      exportStatus,
    ),
    h("section", { "aria-labelledby": "history-entries" }, h("h2", { id: "history-entries" }, "Changes"), listing),
  );
  await show(1);
}
