// Building blocks of every page. Values from the server (user names, request bodies, error
// details sent by identity providers) are always set as text, never parsed as markup.

/** An element: `h("button", {class: "danger", onclick: f}, "Revoke")`. */
export function h(tag, props = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(props ?? {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on") && typeof value === "function") {
      element.addEventListener(name.slice(2), value);
    } else if (name === "value") {
      element.value = value;
    } else if (name === "checked") {
      element.checked = Boolean(value);
    } else {
      element.setAttribute(name, value === true ? "" : String(value));
    }
  }
  append(element, children);
  return element;
}

function append(parent, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    parent.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/**
 * Replaces an element's children as `h` would give them: unlike the DOM's own
 * `replaceChildren`, a `null` or `false` left by a condition is no child, not the text "null".
 */
export function fill(parent, ...children) {
  parent.replaceChildren();
  append(parent, children);
}

let lastId = 0;
/** An id unique on the page, to tie a label to its control. */
export function uniqueId(prefix) {
  lastId += 1;
  return `${prefix}-${lastId}`;
}

/** A labelled control; `hint` is read out with it. */
export function field(label, control, hint) {
  control.id ||= uniqueId("field");
  const wrapper = h("div", { class: control.type === "checkbox" ? "field checkbox" : "field" });
  let hintElement = null;
  if (hint) {
    hintElement = h("span", { class: "hint", id: uniqueId("hint") }, hint);
    control.setAttribute("aria-describedby", hintElement.id);
  }
  if (control.type === "checkbox") {
    wrapper.append(control, h("label", { for: control.id }, label));
  } else {
    wrapper.append(h("label", { for: control.id }, label), control);
  }
  if (hintElement) wrapper.append(hintElement);
  return wrapper;
}

/**
 * A table with a caption and column headers: `columns` are `{label, cell(row)}`, and
 * `rowProps(row)` may add attributes (a class) to a row.
 */
export function table({ caption, columns, rows, empty = "Nothing to show.", rowProps }) {
  if (rows.length === 0) {
    return h("div", { class: "table-wrap" }, h("p", { class: "empty" }, empty));
  }
  return h(
    "div",
    { class: "table-wrap" },
    h(
      "table",
      {},
      caption ? h("caption", {}, caption) : null,
      h("thead", {}, h("tr", {}, columns.map((column) => h("th", { scope: "col" }, column.label)))),
      h(
        "tbody",
        {},
        rows.map((row) =>
          h(
            "tr",
            rowProps ? rowProps(row) : {},
            columns.map((column) => h("td", { class: column.class }, column.cell(row))),
          ),
        ),
      ),
    ),
  );
}

/**
 * A message box. An error is an alert, read out as it appears; other messages are only shown,
 * and the page says them once through `announce` (a live region added together with its text
 * is not reliably read, and one read twice is noise).
 */
export function message(kind, text) {
  return h("div", { class: `message ${kind}`, role: kind === "error" ? "alert" : undefined }, text);
}

/**
 * A secret scimd shows only this once (an API key, a webhook's signing secret): `note` says so,
 * then the secret (its element `id`, for tests) with a button that copies it.
 */
export function shownOnce({ note, label, secret, id, copyLabel }) {
  const copy = h(
    "button",
    {
      type: "button",
      class: "secondary",
      onclick: async () => {
        try {
          await navigator.clipboard.writeText(secret);
          announce(`${label} copied`);
        } catch {
          announce(`Copying is not allowed here; select the ${label.toLowerCase()} and copy it`);
        }
      },
    },
    copyLabel,
  );
  return h(
    "div",
    { class: "message success" },
    h("p", {}, note),
    h("div", { class: "secret" }, h("span", {}, `${label}:`), h("code", { id }, secret), copy),
  );
}

/** Says `text` to screen readers without moving the focus. */
export function announce(text) {
  const announcer = document.getElementById("announcer");
  announcer.textContent = "";
  // A fresh text node after a tick, so that the same message twice is read twice.
  setTimeout(() => {
    announcer.textContent = text;
  }, 50);
}

/**
 * Previous / Next paging over a cursor-paged listing. `page` counts from 1; `onPrevious` is
 * omitted on the first page and `onNext` on the last.
 */
export function pager({ label, page, onPrevious, onNext }) {
  return h(
    "nav",
    { class: "pager", "aria-label": label },
    h("button", { type: "button", class: "secondary", disabled: !onPrevious, onclick: onPrevious }, "Previous page"),
    h("span", { class: "page-number", "aria-live": "polite" }, `Page ${page}`),
    h("button", { type: "button", class: "secondary", disabled: !onNext, onclick: onNext }, "Next page"),
  );
}

/** After a page turn re-drew the pager, the focus goes back to the button pressed (or the other). */
export function pagedTo(container, pressed, page) {
  const buttons = [...container.querySelectorAll(".pager button")];
  (buttons.find((button) => button.textContent === pressed && !button.disabled) ?? buttons.find((button) => !button.disabled))?.focus();
  announce(`Page ${page}`);
}

/**
 * Cursor paging of a listing drawn into `container` by `draw(page, result)`: `load(cursor)`
 * reads a page; `entriesOf` and `nextOf` find its entries and the cursor of the page after it
 * (`entries` and `nextCursor` unless told). Returns `show(page)`, which gives the page read.
 */
export function paged(container, label, load, draw, { entriesOf = (result) => result.entries, nextOf = (result) => result.nextCursor } = {}) {
  const cursors = [null];
  async function show(page) {
    let result;
    try {
      result = await load(cursors[page - 1]);
    } catch (error) {
      fill(container, message("error", error.message));
      return null;
    }
    const next = nextOf(result);
    if (next) cursors[page] = next;
    fill(
      container,
      draw(page, result),
      entriesOf(result).length > 0 || page > 1
        ? pager({
            label,
            page,
            onPrevious: page > 1 ? () => show(page - 1).then(() => pagedTo(container, "Previous page", page - 1)) : undefined,
            onNext: next ? () => show(page + 1).then(() => pagedTo(container, "Next page", page + 1)) : undefined,
          })
        : null,
    );
    return result;
  }
  return show;
}

/**
 * A time as the console shows every time, in one form with its zone and milliseconds, so that
 * it reads the same on every page and beside the CLI's UTC: `2026-12-06 23:40:01.123 UTC`.
 */
export function formatTime(iso) {
  const when = new Date(iso ?? "");
  if (!iso || Number.isNaN(when.getTime())) return iso ?? "";
  return `${when.toISOString().replace("T", " ").replace("Z", "")} UTC`;
}

/** A timestamp in the console's form, with the exact stored value on hover. */
export function time(iso) {
  if (!iso) return "";
  const when = new Date(iso);
  if (Number.isNaN(when.getTime())) return iso;
  return h("time", { datetime: iso, title: iso }, formatTime(iso));
}

/** Offers `text` as a file download named `name`. */
export function download(name, type, text) {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const link = h("a", { href: url, download: name });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

/**
 * A time picker as every page has it: a `datetime-local` control to the second, in UTC like
 * the times the console shows (a time copied from a listing finds that entry).
 */
export function timePicker(name, iso) {
  return h("input", { type: "datetime-local", name, step: "1", value: toPickerValue(iso) });
}

/** An RFC 3339 time as a picker's value, in UTC, to the second ("" if none). */
export function toPickerValue(iso) {
  const when = new Date(iso ?? "");
  if (!iso || Number.isNaN(when.getTime())) return "";
  return when.toISOString().slice(0, 19);
}

/**
 * A picker's value (UTC) as RFC 3339 ("" if empty or not a time). `endOfSecond` makes it cover
 * its whole second: "until 10:42:05" includes 10:42:05.5.
 */
export function fromPickerValue(value, { endOfSecond = false } = {}) {
  if (!value) return "";
  const full = value.length === 16 ? `${value}:00` : value;
  const when = new Date(`${full}Z`);
  if (Number.isNaN(when.getTime())) return "";
  if (endOfSecond && when.getUTCMilliseconds() === 0) when.setUTCMilliseconds(999);
  return when.toISOString();
}

/**
 * The range a From and an Until picker give (Until covering its whole second) as RFC 3339,
 * and the reason it is refused ("" when it is a range): From after Until.
 */
export function pickedRange(sincePicker, untilPicker) {
  const since = fromPickerValue(sincePicker.value);
  const until = fromPickerValue(untilPicker.value, { endOfSecond: true });
  const problem =
    since && until && new Date(since) > new Date(until)
      ? `From (${formatTime(since)}) is after Until (${formatTime(until)}): nothing can match. Swap them or change one.`
      : "";
  return { range: { since, until }, problem };
}
