// One group: its name, its members 50 a page (each by name, users linked to their page, nested
// groups to theirs), and its history (the change history of its id, oldest first).
import { instancePath } from "../api.js";
import { fill, h, paged, table, time } from "../dom.js";
import { groupHref, historyColumns, userHref } from "./history.js";

const PAGE = 50;

function memberCell(member, instance, hrefOf) {
  if (member.kind === "Group") {
    return [h("span", { class: "entity-type" }, "Group"), " ", h("a", { href: groupHref(hrefOf, instance, member.id) }, member.displayName ?? member.id)];
  }
  return h("a", { href: userHref(hrefOf, instance, member.id) }, member.userName ?? member.id);
}

export async function render(view, { api, params, hrefOf }) {
  const { instance, id } = params;
  const heading = h("h1", {}, `Group ${id}`);
  const facts = h("div", {});
  const members = h("div", {}, h("p", { class: "empty" }, "Loading…"));
  const history = h("div", {}, h("p", { class: "empty" }, "Loading…"));

  const showMembers = paged(
    members,
    "Member pages",
    (cursor) => api.get(instancePath(instance, `/groups/${encodeURIComponent(id)}/members`), { count: PAGE, cursor }),
    (page, result) => {
      const first = (page - 1) * PAGE + 1;
      return table({
        caption: `Members ${first}–${first + result.entries.length - 1} of ${result.group.members}`,
        empty: "This group has no members.",
        rows: result.entries,
        columns: [
          { label: "Member", cell: (member) => memberCell(member, instance, hrefOf) },
          { label: "Display name", cell: (member) => (member.kind === "User" ? member.displayName ?? h("span", { class: "muted" }, "—") : "") },
          { label: "id", cell: (member) => h("code", {}, member.id) },
        ],
      });
    },
  );

  const showHistory = paged(
    history,
    "Group history pages",
    (cursor) => api.get(instancePath(instance, "/history"), { id, count: PAGE, cursor }),
    (page, result) => {
      const first = (page - 1) * PAGE + 1;
      return table({
        caption: `Changes ${first}–${first + result.entries.length - 1} to this group, oldest first`,
        empty: "No change to this group is recorded.",
        rows: result.entries,
        columns: historyColumns(instance, hrefOf, { entity: false, subject: id }),
      });
    },
  );

  view.append(
    heading,
    h("p", { class: "lead" }, h("a", { href: hrefOf(`/instances/${encodeURIComponent(instance)}/history`) }, "Change history"), " of ", instance),
    facts,
    h("section", { "aria-labelledby": "group-members" }, h("h2", { id: "group-members" }, "Members"), members),
    h("section", { "aria-labelledby": "group-history" }, h("h2", { id: "group-history" }, "History"), history),
  );
  const [first] = await Promise.all([showMembers(1), showHistory(1)]);
  if (!first) return;
  const group = first.group;
  heading.textContent = `Group ${group.displayName}`;
  fill(facts, 
    h("dl", { class: "facts" },
      h("dt", {}, "displayName"), h("dd", {}, group.displayName),
      h("dt", {}, "id"), h("dd", {}, h("code", {}, group.id)),
      group.externalId ? [h("dt", {}, "externalId"), h("dd", {}, group.externalId)] : null,
      h("dt", {}, "Members"), h("dd", {}, String(group.members)),
      h("dt", {}, "Created"), h("dd", {}, time(group.created)),
      h("dt", {}, "Last modified"), h("dd", {}, time(group.lastModified))),
  );
}
