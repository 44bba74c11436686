// The users of one instance, found by the start of a userName, displayName or email address
// (any case), 50 a page in userName order; each leads to its user page. With no search text
// every user is listed. The search text is in the address, so a search can be shared.
import { instancePath } from "../api.js";
import { field, fill, h, message, pagedTo, pager, table } from "../dom.js";
import { userHref } from "./history.js";

const PAGE = 50;

export async function render(view, { api, params, query, navigate, hrefOf }) {
  const { instance } = params;
  const base = `/instances/${encodeURIComponent(instance)}/users`;
  const q = (query.q ?? "").trim();
  const listing = h("div", {}, h("p", { class: "empty" }, "Loading…"));

  const search = h("input", { type: "search", name: "q", value: q, autocomplete: "off", spellcheck: "false" });
  const form = h(
    "form",
    {
      class: "panel inline",
      role: "search",
      "aria-label": "Search the users",
      onsubmit: (event) => {
        event.preventDefault();
        navigate(base, { q: search.value.trim() });
      },
    },
    field("Find users", search, "The start of a userName, display name or email address, in any case."),
    h("button", { type: "submit" }, "Search"),
    q ? h("a", { href: hrefOf(base) }, "Show every user") : null,
  );

  const cursors = [null];
  async function show(page) {
    let result;
    try {
      result = await api.get(instancePath(instance, "/users"), { q, count: PAGE, cursor: cursors[page - 1] });
    } catch (error) {
      fill(listing, message("error", error.message));
      return;
    }
    if (result.nextCursor) cursors[page] = result.nextCursor;
    const first = (page - 1) * PAGE + 1;
    const users = result.entries;
    fill(listing, 
      table({
        caption: `Users ${first}–${first + users.length - 1}${q ? ` starting with “${q}”` : ""}, by userName`,
        empty: q
          ? `No user's userName, display name or email address starts with “${q}”.`
          : "This instance has no users yet.",
        rows: users,
        columns: [
          { label: "userName", cell: (user) => h("a", { href: userHref(hrefOf, instance, user.id) }, user.userName) },
          { label: "Display name", cell: (user) => user.displayName ?? h("span", { class: "muted" }, "—") },
          {
            label: "Email addresses",
            cell: (user) =>
              user.emails.length ? h("ul", { class: "plain" }, user.emails.map((email) => h("li", {}, email))) : h("span", { class: "muted" }, "—"),
          },
          {
            label: "Active",
            cell: (user) => (user.active === false ? h("span", { class: "badge failed" }, "Suspended") : h("span", { class: "badge ok" }, "Active")),
          },
        ],
      }),
      users.length > 0 || page > 1
        ? pager({
            label: "User pages",
            page,
            onPrevious: page > 1 ? () => show(page - 1).then(() => pagedTo(listing, "Previous page", page - 1)) : undefined,
            onNext: result.nextCursor ? () => show(page + 1).then(() => pagedTo(listing, "Next page", page + 1)) : undefined,
          })
        : null,
    );
  }

  view.append(
    h("h1", {}, `Users of ${instance}`),
    h("p", { class: "lead" }, "Find a user to see it as scimd serves it, its application directory entry and its timeline."),
    form,
    h("section", { "aria-labelledby": "users-found" }, h("h2", { id: "users-found" }, q ? "Users found" : "All users"), listing),
  );
  await show(1);
}
