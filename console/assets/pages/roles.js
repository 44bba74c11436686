// The roles of one instance: which roles its provisioned users may have (a user sent with any
// other is refused, and the provisioning log says which role) and which ones a user sent
// without roles gets. Allowing a refused role here is how such a refusal is fixed.
import { instancePath } from "../api.js";
import { announce, field, fill, h, message } from "../dom.js";

/** "User, Approver" or one per line as a list of role names, blanks left out. */
function rolesOf(text) {
  return text.split(/[,\n]/).map((role) => role.trim()).filter(Boolean);
}

export async function render(view, { api, params, hrefOf }) {
  const { instance } = params;
  const path = instancePath(instance, "/roles");
  let roles = { allowed: [], default: [] };
  const current = h("div", {});
  const allowedFeedback = h("div", { class: "feedback" });
  const defaultFeedback = h("div", { class: "feedback" });

  const allowed = h("input", { type: "text", name: "allowed", autocomplete: "off", spellcheck: "false" });
  const any = h("input", { type: "checkbox", name: "any" });
  const defaults = h("input", { type: "text", name: "default", autocomplete: "off", spellcheck: "false" });
  any.addEventListener("change", () => {
    allowed.disabled = any.checked;
  });

  function draw() {
    const anyRole = roles.allowed === "any";
    const list = (names, none) => (names.length ? names.join(", ") : h("span", { class: "muted" }, none));
    fill(current, 
      h("dl", { class: "facts" },
        h("dt", {}, "Allowed roles"), h("dd", {}, anyRole ? "Any role" : list(roles.allowed, "None: every role is refused")),
        h("dt", {}, "Default roles"), h("dd", {}, list(roles.default, "None"))),
    );
    any.checked = anyRole;
    allowed.disabled = anyRole;
    allowed.value = anyRole ? "" : roles.allowed.join(", ");
    defaults.value = roles.default.join(", ");
  }

  async function change(feedback, call, success) {
    for (const each of [allowedFeedback, defaultFeedback]) each.replaceChildren();
    try {
      roles = await call();
      draw();
      fill(feedback, message("success", success));
      announce(success);
    } catch (error) {
      fill(feedback, message("error", error.message));
    }
  }

  const allowedForm = h(
    "form",
    {
      class: "panel inline",
      onsubmit: (event) => {
        event.preventDefault();
        const names = rolesOf(allowed.value);
        const body = any.checked ? { any: true } : { roles: names };
        const said = any.checked ? "Any role is now allowed." : `Allowed roles: ${names.join(", ") || "none"}.`;
        change(allowedFeedback, () => api.put(`${path}/allowed`, body), said);
      },
    },
    field("Allowed roles", allowed, "Separated by commas, e.g. User, Approver. The default roles must stay among them."),
    field("Allow any role", any, "For an application without role semantics."),
    h("button", { type: "submit" }, "Save allowed roles"),
  );

  const defaultForm = h(
    "form",
    {
      class: "panel inline",
      onsubmit: (event) => {
        event.preventDefault();
        const names = rolesOf(defaults.value);
        change(defaultFeedback, () => api.put(`${path}/default`, { roles: names }), `Default roles: ${names.join(", ") || "none"}.`);
      },
    },
    field("Default roles", defaults, "Separated by commas; each must be allowed. Leave empty to give such users no role."),
    h("button", { type: "submit" }, "Save default roles"),
  );

  const failures = hrefOf(`/instances/${encodeURIComponent(instance)}/provisioning-log`, { failed: "true" });
  view.append(
    h("h1", {}, `Roles of ${instance}`),
    h(
      "p",
      { class: "lead" },
      "A user provisioned with a role this instance does not allow is refused with the role's name; allow the role here to accept it. ",
      h("a", { href: failures }, "Failed requests"),
      " show each refusal and its reason.",
    ),
    h("section", { "aria-labelledby": "roles-now" }, h("h2", { id: "roles-now" }, "Roles now"), current),
    h("section", { "aria-labelledby": "roles-allowed" }, h("h2", { id: "roles-allowed" }, "Allowed roles"), allowedForm, allowedFeedback),
    h("section", { "aria-labelledby": "roles-default" }, h("h2", { id: "roles-default" }, "Roles of users sent without roles"), defaultForm, defaultFeedback),
  );
  roles = await api.get(path);
  draw();
}
