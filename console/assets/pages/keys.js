// API keys of one instance: issue one (its secret shown this once), list them with when each
// was last used (is the identity provider still on a revoked key?), revoke one.
import { instancePath } from "../api.js";
import { announce, field, fill, h, message, shownOnce, table, time } from "../dom.js";

/**
 * When a key was last used (written at most once a minute), and for a revoked key used after
 * its revocation, that those requests were refused; with a link to the key's requests.
 */
function lastUsed(key, logHref) {
  if (!key.lastUsedAt) return h("span", { class: "muted" }, "No use recorded");
  const refused = key.revokedAt && key.lastUsedAt > key.revokedAt;
  return [
    time(key.lastUsedAt),
    refused ? h("div", { class: "badge failed" }, "Still used after revocation: refused") : null,
    h("div", {}, h("a", { href: logHref(key), "aria-label": `Requests with key ${key.keyId}` }, "Requests")),
  ];
}

export async function render(view, { api, params, hrefOf }) {
  const { instance } = params;
  const listing = h("div", {});
  const feedback = h("div", {});
  const integrationUser = h("input", { type: "text", name: "integrationUser", required: true, autocomplete: "off" });

  async function revoke(key) {
    const sure = window.confirm(
      `Revoke key ${key.keyId} of ${key.integrationUser}? The identity provider using it is refused from its next request.`,
    );
    if (!sure) return;
    feedback.replaceChildren();
    try {
      await api.delete(instancePath(instance, `/keys/${encodeURIComponent(key.keyId)}`));
      fill(feedback, message("success", `Key ${key.keyId} revoked.`));
      announce(`Key ${key.keyId} revoked`);
    } catch (error) {
      fill(feedback, message("error", error.message));
    }
    await refresh();
  }

  const logHref = (key) =>
    hrefOf(`/instances/${encodeURIComponent(instance)}/provisioning-log`, { key: key.keyId });

  async function refresh() {
    const keys = await api.get(instancePath(instance, "/keys"));
    fill(listing, 
      table({
        caption: `${keys.length} key${keys.length === 1 ? "" : "s"} of ${instance}`,
        empty: "This instance has no API keys yet.",
        rows: keys,
        columns: [
          { label: "Key id", cell: (key) => h("code", {}, key.keyId) },
          { label: "Integration user", cell: (key) => key.integrationUser },
          { label: "Created", cell: (key) => time(key.createdAt) },
          {
            label: "Status",
            cell: (key) =>
              key.revokedAt
                ? [h("span", { class: "badge failed" }, "Revoked"), " ", time(key.revokedAt)]
                : h("span", { class: "badge ok" }, "Active"),
          },
          { label: "Last used", cell: (key) => lastUsed(key, logHref) },
          {
            label: "Actions",
            class: "actions",
            cell: (key) =>
              key.revokedAt
                ? ""
                : h(
                    "button",
                    { type: "button", class: "danger", onclick: () => revoke(key), "aria-label": `Revoke key ${key.keyId}` },
                    "Revoke",
                  ),
          },
        ],
      }),
    );
  }

  function showIssued(issued) {
    fill(
      feedback,
      shownOnce({
        note: `Key ${issued.keyId} issued for ${issued.integrationUser}. Store it now: it is shown only this once.`,
        label: "API key",
        secret: issued.key,
        id: "issued-key",
        copyLabel: "Copy key",
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
          const issued = await api.post(instancePath(instance, "/keys"), {
            integrationUser: integrationUser.value.trim(),
          });
          integrationUser.value = "";
          showIssued(issued);
          announce(`Key ${issued.keyId} issued; it is shown only this once`);
          await refresh();
        } catch (error) {
          fill(feedback, message("error", error.message));
          integrationUser.focus();
        }
      },
    },
    field(
      "Integration user",
      integrationUser,
      "The account the identity provider acts as; every change made with the key is recorded under it.",
    ),
    h("button", { type: "submit" }, "Issue API key"),
  );

  view.append(
    h("h1", {}, `API keys of ${instance}`),
    h("p", { class: "lead" }, "An identity provider sends one of these as its bearer token; the key alone names the instance."),
    h("section", { "aria-labelledby": "issue-key" }, h("h2", { id: "issue-key" }, "Issue a key"), form, feedback),
    h("section", { "aria-labelledby": "all-keys" }, h("h2", { id: "all-keys" }, "Keys"), listing),
  );
  await refresh();
}
