// The console's shell: the session (the admin token, kept for this browser tab only), the
// address after `#` that names the page, and the navigation around every page.
import { adminApi, searchOf } from "./api.js";
import { h } from "./dom.js";
import { routes } from "./routes.js";

const TOKEN_KEY = "scimd-admin-token";
const main = document.getElementById("main");
let notice = null;

function token() {
  return sessionStorage.getItem(TOKEN_KEY);
}

export function signIn(value) {
  sessionStorage.setItem(TOKEN_KEY, value);
}

function signOut(reason) {
  sessionStorage.removeItem(TOKEN_KEY);
  notice = reason ?? null;
  navigate("/sign-in");
}

/** Goes to `path`, with `query` (empty values left out) as its parameters. */
export function navigate(path, query = {}) {
  const target = hrefOf(path, query);
  if (location.hash === target) {
    render();
  } else {
    location.hash = target;
  }
}

/** The `href` of a page. */
export function hrefOf(path, query = {}) {
  const text = searchOf(query).toString();
  return `#${path}${text ? `?${text}` : ""}`;
}

function match(path) {
  const parts = path.split("/");
  for (const route of routes) {
    const pattern = route.path.split("/");
    if (pattern.length !== parts.length) continue;
    const params = {};
    const matched = pattern.every((segment, index) => {
      if (segment.startsWith(":")) {
        try {
          params[segment.slice(1)] = decodeURIComponent(parts[index]);
        } catch {
          return false;
        }
        return parts[index] !== "";
      }
      return segment === parts[index];
    });
    if (matched) return { route, params };
  }
  return null;
}

function renderNavigation(route, params) {
  const nav = document.getElementById("instance-nav");
  const session = document.getElementById("session");
  nav.replaceChildren();
  session.replaceChildren();
  if (token()) {
    session.append(
      h("button", { type: "button", class: "secondary", onclick: () => signOut("Signed out.") }, "Sign out"),
    );
  }
  if (params.instance === undefined) return;
  const instance = encodeURIComponent(params.instance);
  const links = routes
    .filter((candidate) => candidate.nav)
    .map((candidate) => {
      const href = `#${candidate.path.replace(":instance", instance)}`;
      const current = candidate === route ? "page" : undefined;
      return h("li", {}, h("a", { href, "aria-current": current }, candidate.nav));
    });
  nav.append(
    h("ul", {}, h("li", { class: "instance-name" }, `Instance ${params.instance}`), links),
  );
}

async function render() {
  const [path, search] = location.hash.replace(/^#/, "").split("?");
  const found = match(path || "/instances");
  if (!found) {
    navigate("/instances");
    return;
  }
  const { route, params } = found;
  if (!route.public && !token()) {
    navigate("/sign-in");
    return;
  }
  renderNavigation(route, params);
  const api = adminApi(token() ?? "", (reason) => signOut(`Signed out: ${reason}`));
  const context = {
    params,
    query: Object.fromEntries(new URLSearchParams(search ?? "")),
    api,
    navigate,
    hrefOf,
    signIn,
    notice,
  };
  notice = null;
  const view = h("div", {});
  main.replaceChildren(view);
  try {
    await route.page.render(view, context);
  } catch (error) {
    view.replaceChildren(
      h("h1", {}, "Something went wrong"),
      h("div", { class: "message error", role: "alert" }, error.message ?? String(error)),
    );
  }
  const heading = main.querySelector("h1");
  document.title = `${heading ? heading.textContent : "scimd"} · scimd admin`;
  // A new page starts at its top, as a page loaded from the server would.
  window.scrollTo(0, 0);
  main.focus({ preventScroll: true });
}

// The address after `#` names the page, so the skip link moves the focus itself instead of
// following its `#main`.
document.querySelector(".skip-link").addEventListener("click", (event) => {
  event.preventDefault();
  main.focus();
});

window.addEventListener("hashchange", render);
render();
