// Instances: the tenants of this deployment, each with its own keys, mapping and history.
import { announce, field, fill, h, message, table, time } from "../dom.js";

export async function render(view, { api, hrefOf }) {
  const listing = h("div", {});
  const feedback = h("div", {});
  const name = h("input", { type: "text", name: "name", required: true, autocomplete: "off" });

  async function refresh() {
    const instances = await api.get("/instances");
    fill(listing, 
      table({
        caption: `${instances.length} instance${instances.length === 1 ? "" : "s"}`,
        empty: "No instances yet.",
        rows: instances,
        columns: [
          { label: "Name", cell: (row) => h("a", { href: hrefOf(`/instances/${encodeURIComponent(row.name)}/keys`) }, row.name) },
          { label: "Created", cell: (row) => time(row.createdAt) },
          {
            label: "Pages",
            class: "actions",
            cell: (row) => {
              const base = `/instances/${encodeURIComponent(row.name)}`;
              return [
                h("a", { href: hrefOf(`${base}/keys`), "aria-label": `API keys of ${row.name}` }, "Keys"),
                " · ",
                h("a", { href: hrefOf(`${base}/users`), "aria-label": `Users of ${row.name}` }, "Users"),
                " · ",
                h("a", { href: hrefOf(`${base}/mapping`), "aria-label": `Attribute mapping of ${row.name}` }, "Mapping"),
                " · ",
                h("a", { href: hrefOf(`${base}/history`), "aria-label": `Change history of ${row.name}` }, "History"),
                " · ",
                h("a", { href: hrefOf(`${base}/provisioning-log`), "aria-label": `Provisioning log of ${row.name}` }, "Provisioning log"),
              ];
            },
          },
        ],
      }),
    );
  }

  const form = h(
    "form",
    {
      class: "panel inline",
      onsubmit: async (event) => {
        event.preventDefault();
        feedback.replaceChildren();
        try {
          const created = await api.post("/instances", { name: name.value.trim() });
          fill(feedback, 
            message("success", `Instance ${created.name} created. Issue it an API key under Keys.`),
          );
          announce(`Instance ${created.name} created`);
          name.value = "";
          await refresh();
        } catch (error) {
          fill(feedback, message("error", error.message));
          name.focus();
        }
      },
    },
    field("New instance name", name),
    h("button", { type: "submit" }, "Create instance"),
  );

  view.append(
    h("h1", {}, "Instances"),
    h("p", { class: "lead" }, "Each instance is one tenant: its own API keys, attribute mapping, users and history."),
    h("section", { "aria-labelledby": "create-instance" }, h("h2", { id: "create-instance" }, "Create an instance"), form, feedback),
    h("section", { "aria-labelledby": "all-instances" }, h("h2", { id: "all-instances" }, "All instances"), listing),
  );
  await refresh();
}
