// Sign-in: a named administrator's credential (`scimd admins create`) or the bootstrap admin
// token (SCIMD_ADMIN_TOKEN). scimd checks it and answers with a session cookie this page never
// sees (HttpOnly); the credential itself is kept nowhere. Afterwards the page asked for before
// signing in (`next`) opens.
import { ApiError } from "../api.js";
import { field, fill, h, message } from "../dom.js";

/** Trades `token` for a session; who it signs in. */
async function startSession(token) {
  let response;
  try {
    response = await fetch(new URL("v1/session", document.baseURI), {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json", "X-Scimd-Console": "1" },
      body: JSON.stringify({ token }),
      cache: "no-store",
      credentials: "same-origin",
    });
  } catch {
    throw new ApiError(0, "scimd cannot be reached; check that it is running and try again");
  }
  const payload = await response.json().catch(() => null);
  if (!response.ok) throw new ApiError(response.status, payload?.error ?? `scimd answered ${response.status}`);
  return payload;
}

export async function render(view, { signIn, notice, query }) {
  const input = h("input", {
    type: "password",
    name: "token",
    autocomplete: "current-password",
    required: true,
    spellcheck: "false",
  });
  const feedback = h("div", {});
  const button = h("button", { type: "submit" }, "Sign in");
  const form = h(
    "form",
    {
      class: "panel",
      onsubmit: async (event) => {
        event.preventDefault();
        button.disabled = true;
        feedback.replaceChildren();
        try {
          const who = await startSession(input.value.trim());
          input.value = "";
          signIn(who, query.next);
        } catch (error) {
          const text =
            error.status === 401 || error.status === 403
              ? "That is not the admin token: use your administrator's credential or the bootstrap token scimd was started with (SCIMD_ADMIN_TOKEN)."
              : error.message;
          fill(feedback, message("error", text));
          input.focus();
        } finally {
          button.disabled = false;
        }
      },
    },
    field(
      "Admin token",
      input,
      "Your administrator's credential (from scimd admins create), or the bootstrap token scimd was started with. The browser keeps only a sign-in that no page script can read, shared by its tabs until you sign out.",
    ),
    feedback,
    h("p", {}, button),
  );
  view.append(
    h(
      "div",
      { class: "sign-in" },
      h("h1", {}, "Sign in to scimd admin"),
      notice ? message("success", notice) : null,
      form,
    ),
  );
}
