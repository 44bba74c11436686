// Sign-in: the admin token scimd was started with. It is checked against the admin API before
// it is kept, and kept only for this browser tab.
import { adminApi } from "../api.js";
import { field, h, message } from "../dom.js";

export async function render(view, { navigate, signIn, notice }) {
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
        const token = input.value.trim();
        try {
          await adminApi(token).get("/instances");
          signIn(token);
          navigate("/instances");
        } catch (error) {
          const text =
            error.status === 401 || error.status === 403
              ? "That is not the admin token. Use the value scimd was started with (SCIMD_ADMIN_TOKEN)."
              : error.message;
          feedback.replaceChildren(message("error", text));
          input.focus();
        } finally {
          button.disabled = false;
        }
      },
    },
    field("Admin token", input, "The secret scimd was started with (SCIMD_ADMIN_TOKEN). It stays in this tab only."),
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
