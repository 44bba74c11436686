// Attribute mapping of one instance: which SCIM attribute fills which text field of the
// application's User entity. Change, delete and add rows, add custom text fields, restore the
// defaults, and re-apply the mapping to users provisioned before a change.
import { instancePath } from "../api.js";
import { announce, field, fill, h, message, table } from "../dom.js";

const ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

// What identity providers commonly send (Microsoft Entra ID's default list and its kin); only
// suggestions: any path naming one simple value of a User is accepted by scimd.
const SUGGESTED = [
  "userName",
  "displayName",
  "nickName",
  "title",
  "userType",
  "preferredLanguage",
  "locale",
  "timezone",
  "externalId",
  "name.givenName",
  "name.familyName",
  "name.middleName",
  "name.formatted",
  'emails[type eq "work"].value',
  'phoneNumbers[type eq "work"].value',
  'phoneNumbers[type eq "mobile"].value',
  'addresses[type eq "work"].country',
  'addresses[type eq "work"].locality',
  'addresses[type eq "work"].region',
  'addresses[type eq "work"].postalCode',
  'addresses[type eq "work"].streetAddress',
  `${ENTERPRISE}:department`,
  `${ENTERPRISE}:employeeNumber`,
  `${ENTERPRISE}:costCenter`,
  `${ENTERPRISE}:division`,
  `${ENTERPRISE}:organization`,
  `${ENTERPRISE}:manager.value`,
];

const SUGGESTIONS_ID = "scim-attribute-suggestions";

export async function render(view, { api, params }) {
  const { instance } = params;
  const path = (rest) => instancePath(instance, rest);
  let doc = { mapping: [], fields: [], customFields: [] };
  // The target field whose row is being edited in place, and its form, kept across redraws so
  // that adding a field elsewhere does not lose what is being typed.
  let editing = null;
  let editorForm = null;

  const listing = h("div", {});
  // One message at a time, shown next to the control that caused it.
  const tableFeedback = h("div", { tabindex: "-1", class: "feedback" });
  const addFeedback = h("div", { class: "feedback" });
  const fieldFeedback = h("div", { class: "feedback" });
  function report(area, kind, text) {
    for (const each of [tableFeedback, addFeedback, fieldFeedback]) each.replaceChildren();
    fill(area, message(kind, text));
    if (kind !== "error") announce(text);
  }

  // Runs a settings call; the API answers with the whole new document, drawn at once.
  async function change(area, call, success) {
    try {
      const answer = await call();
      // A preview of Apply no longer says what Apply would do.
      if (preview.childElementCount) closePreview();
      if (answer?.mapping) doc = answer;
      if (area === tableFeedback || !doc.mapping.some((row) => row.field === editing)) editing = null;
      draw();
      report(area, "success", success);
      return true;
    } catch (error) {
      report(area, "error", error.message);
      return false;
    }
  }

  function attributeInput(props) {
    return h("input", {
      type: "text",
      list: SUGGESTIONS_ID,
      autocomplete: "off",
      spellcheck: "false",
      required: true,
      class: "attribute-input",
      ...props,
    });
  }

  function editor(row) {
    const input = attributeInput({ value: row.attribute, "aria-label": `SCIM attribute for ${row.field}` });
    const cancel = () => {
      editing = null;
      draw();
      focusRowButton(row.field, "Change");
    };
    input.addEventListener("keydown", (event) => {
      if (event.key === "Escape") {
        event.preventDefault();
        cancel();
      }
    });
    const form = h(
      "form",
      {
        class: "inline-edit",
        onsubmit: async (event) => {
          event.preventDefault();
          const saved = await change(
            tableFeedback,
            () => api.put(path(`/mappings/${encodeURIComponent(row.field)}`), { attribute: input.value.trim() }),
            `${row.field} is now filled from ${input.value.trim()}.`,
          );
          if (saved) focusRowButton(row.field, "Change");
          else input.focus();
        },
      },
      input,
      h("button", { type: "submit", "aria-label": `Save the attribute of ${row.field}` }, "Save"),
      h("button", { type: "button", class: "secondary", onclick: cancel, "aria-label": `Cancel changing ${row.field}` }, "Cancel"),
    );
    return form;
  }

  function focusRowButton(target, action) {
    const button = listing.querySelector(`button[data-field="${CSS.escape(target)}"][data-action="${action}"]`);
    (button ?? tableFeedback).focus();
  }

  async function remove(row) {
    const sure = window.confirm(
      `Delete the mapping of ${row.field} (from ${row.attribute})? The field is no longer filled; values users already have stay until the mapping is applied again.`,
    );
    if (!sure) return;
    await change(
      tableFeedback,
      () => api.delete(path(`/mappings/${encodeURIComponent(row.field)}`)),
      `The mapping of ${row.field} is deleted.`,
    );
    tableFeedback.focus();
  }

  function actions(row) {
    if (row.readOnly) {
      return h(
        "span",
        { class: "badge locked" },
        h("span", { class: "lock", "aria-hidden": "true" }),
        "Read-only",
        h("span", { class: "visually-hidden" }, `: ${row.field} identifies the account and is always filled from userName.`),
      );
    }
    if (editing === row.field) return "";
    const button = (label, props) =>
      h("button", { type: "button", "data-field": row.field, "data-action": label, ...props }, label);
    return [
      button("Change", {
        class: "secondary",
        "aria-label": `Change the attribute of ${row.field}`,
        onclick: () => {
          editing = row.field;
          editorForm = editor(row);
          draw();
          editorForm.querySelector("input").focus();
        },
      }),
      button("Delete", { class: "danger", "aria-label": `Delete the mapping of ${row.field}`, onclick: () => remove(row) }),
    ];
  }

  function draw() {
    const custom = new Set(doc.customFields);
    fill(listing, 
      table({
        caption: `${doc.mapping.length} mapped field${doc.mapping.length === 1 ? "" : "s"} of ${instance}`,
        empty: "Nothing is mapped: no application field is filled from SCIM. Add a mapping or restore the defaults.",
        rows: doc.mapping,
        rowProps: (row) => ({ class: row.readOnly ? "locked" : undefined, "data-field": row.field }),
        columns: [
          {
            label: "SCIM attribute",
            cell: (row) => (editing === row.field ? editorForm : h("code", {}, row.attribute)),
          },
          {
            label: "Application field",
            cell: (row) => [row.field, custom.has(row.field) ? [" ", h("span", { class: "badge" }, "Custom")] : null],
          },
          { label: "Actions", class: "actions", cell: actions },
        ],
      }),
    );
    drawTargets();
    fill(customList, 
      doc.customFields.length
        ? `Custom text fields: ${doc.customFields.join(", ")}.`
        : "No custom text fields yet.",
    );
  }

  // Only text fields without a mapping can be added; the API names them in `fields`.
  const target = h("select", { name: "field", required: true });
  const source = attributeInput({ name: "attribute" });
  const addButton = h("button", { type: "submit" }, "Add mapping");
  function drawTargets(preferred) {
    const mapped = new Set(doc.mapping.map((row) => row.field));
    const free = doc.fields.filter((name) => !mapped.has(name));
    const keep = preferred ?? target.value;
    const options = free.length
      ? free.map((name) => h("option", { value: name }, name))
      : [h("option", { value: "" }, "Every text field is mapped")];
    fill(target, ...options);
    if (free.includes(keep)) target.value = keep;
    target.disabled = free.length === 0;
    source.disabled = free.length === 0;
    addButton.disabled = free.length === 0;
  }

  const addForm = h(
    "form",
    {
      class: "panel inline",
      onsubmit: async (event) => {
        event.preventDefault();
        const chosen = target.value;
        const attribute = source.value.trim();
        const added = await change(
          addFeedback,
          () => api.put(path(`/mappings/${encodeURIComponent(chosen)}`), { attribute }),
          `${chosen} is now filled from ${attribute}.`,
        );
        if (added) source.value = "";
        (added ? target : source).focus();
      },
    },
    field("Application field", target, "Text fields with no mapping yet, standard and custom."),
    field("SCIM attribute", source, 'A path to one value, e.g. addresses[type eq "work"].country.'),
    addButton,
  );

  const fieldName = h("input", { type: "text", name: "name", required: true, autocomplete: "off", maxlength: "64" });
  const customList = h("p", { class: "custom-fields" });
  const fieldForm = h(
    "form",
    {
      class: "panel inline",
      onsubmit: async (event) => {
        event.preventDefault();
        const name = fieldName.value.trim();
        const added = await change(
          fieldFeedback,
          () => api.post(path("/fields"), { name }),
          `Text field ${name} added; map an attribute to it under Add new mapping.`,
        );
        if (added) {
          fieldName.value = "";
          // The field just made is the one the administrator wants to map next.
          const made = doc.customFields.find((each) => each.toLowerCase() === name.toLowerCase());
          drawTargets(made);
        }
      },
    },
    field("Field name", fieldName, "A text field of the User entity, e.g. Country or Department."),
    h("button", { type: "submit" }, "Add text field"),
  );

  async function restore() {
    const sure = window.confirm(
      "Restore the default mapping? Changed attributes go back to their defaults and rows added for other fields are removed; custom text fields stay, without a mapping.",
    );
    if (!sure) return;
    await change(tableFeedback, () => api.post(path("/mappings/reset")), "The default mapping is restored.");
    tableFeedback.focus();
  }

  // Apply is previewed first: the admin API's dry run of the same walk says how many users
  // would change and shows a sample of old → new values; nothing is written until confirmed.
  const preview = h("div", { class: "apply-preview", tabindex: "-1" });
  const plural = (n, word) => `${n} ${word}${n === 1 ? "" : "s"}`;
  const shownValue = (value) => (value === null || value === undefined ? h("span", { class: "muted" }, "(blank)") : value);

  function closePreview() {
    preview.replaceChildren();
    applyButton.disabled = false;
    applyButton.focus();
  }

  async function confirmApply(button) {
    button.disabled = true;
    try {
      const result = await api.post(path("/mappings/apply"));
      preview.replaceChildren();
      report(tableFeedback, "success", `Mapping applied: ${plural(result.users, "user")} checked, ${result.changed} changed.`);
    } catch (error) {
      preview.replaceChildren();
      report(tableFeedback, "error", error.message);
    } finally {
      applyButton.disabled = false;
      tableFeedback.focus();
    }
  }

  async function showPreview() {
    applyButton.disabled = true;
    for (const each of [tableFeedback, addFeedback, fieldFeedback]) each.replaceChildren();
    fill(preview, h("p", { class: "busy", role: "status" }, "Working out what applying the mapping would change…"));
    let result;
    try {
      result = await api.get(path("/mappings/preview"));
    } catch (error) {
      preview.replaceChildren();
      applyButton.disabled = false;
      report(tableFeedback, "error", error.message);
      return;
    }
    const rows = result.sample.flatMap((user) => user.changes.map((change) => ({ user, change })));
    const summary = result.changed
      ? `${plural(result.changed, "user")} change, of ${plural(result.users, "user")} checked. Nothing has been written yet.`
      : `No user changes: the fields of all ${plural(result.users, "user")} already match the mapping.`;
    const apply = h("button", { type: "button", class: "danger", onclick: () => confirmApply(apply) }, `Apply to ${plural(result.changed, "user")}`);
    fill(preview, 
      h("section", { class: "panel", "aria-labelledby": "apply-preview-heading" },
        h("h3", { id: "apply-preview-heading" }, "Apply to existing users: preview"),
        h("p", { class: "preview-summary" }, summary),
        rows.length
          ? table({
              caption: result.changed > result.sample.length
                ? `The first ${plural(result.sample.length, "user")} that change`
                : "Every user that changes",
              rows,
              columns: [
                { label: "userName", cell: ({ user }) => user.userName },
                { label: "Field", cell: ({ change }) => change.field },
                { label: "Now", class: "change-old", cell: ({ change }) => shownValue(change.old) },
                { label: "After applying", class: "change-new", cell: ({ change }) => shownValue(change.new) },
              ],
            })
          : null,
        h("div", { class: "toolbar" },
          result.changed ? apply : null,
          h("button", { type: "button", class: "secondary", onclick: closePreview }, result.changed ? "Cancel" : "Close"))),
    );
    announce(summary);
    preview.focus();
  }

  const applyButton = h("button", { type: "button", class: "secondary", onclick: showPreview }, "Apply to existing users");
  const toolbar = h(
    "div",
    { class: "toolbar" },
    applyButton,
    h("button", { type: "button", class: "danger", onclick: restore }, "Restore defaults"),
  );

  view.classList.add("mapping-page");
  view.append(
    h("h1", {}, `Attribute mapping of ${instance}`),
    h(
      "p",
      { class: "lead" },
      "Each row fills one text field of the application's User entity from a SCIM attribute when an identity provider creates or updates a user. Changes apply to users provisioned or updated from now on; apply them to existing users to update those now.",
    ),
    h(
      "div",
      { class: "panel note", role: "note" },
      h("strong", {}, "Only text fields can be mapping targets. "),
      "A SCIM attribute must name one simple value (not a complex attribute such as name or addresses, nor binary data). Fields that refer to another object, such as a Job Title object, are filled by mapping to a text field (Scim Sync Job Title) and a workflow rule that finds the object from it.",
    ),
    h("datalist", { id: SUGGESTIONS_ID }, SUGGESTED.map((value) => h("option", { value }))),
    h(
      "section",
      { "aria-labelledby": "mapping-rows" },
      h("div", { class: "section-head" }, h("h2", { id: "mapping-rows" }, "Mapping"), toolbar),
      tableFeedback,
      preview,
      listing,
    ),
    h("section", { "aria-labelledby": "add-mapping" }, h("h2", { id: "add-mapping" }, "Add new mapping"), addForm, addFeedback),
    h(
      "section",
      { "aria-labelledby": "add-field" },
      h("h2", { id: "add-field" }, "Add custom text field"),
      fieldForm,
      customList,
      fieldFeedback,
    ),
  );
  doc = await api.get(path("/mappings"));
  draw();
}
