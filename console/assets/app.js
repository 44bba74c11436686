// The console's shell: the sign-in (a session cookie scimd sets, HttpOnly, so no script here
// ever holds a credential; every tab of the browser shares it), the address after `#` that
// names the page, and the navigation around every page.
import { adminApi, searchOf } from "./api.js";
import { fill, h } from "./dom.js";
import { routes } from "./routes.js";

// Not a credential: only a nudge to the other tabs that someone signed in or out here, so
// they ask scimd again instead of waiting for their next request to be refused.
const SIGNAL_KEY = "scimd-admin-signal";
const main = document.getElementById("main");
let notice = null;
/** Who is signed in: undefined until scimd was asked, null when nobody. */
let administrator;

function tellOtherTabs(what) {
  try {
    localStorage.setItem(SIGNAL_KEY, `${what} ${Date.now()} ${Math.random()}`);
  } catch {
    // Storage may be off; the other tabs then learn it from their next request.
  }
}

window.addEventListener("storage", (event) => {
  if (event.key !== SIGNAL_KEY) return;
  administrator = undefined;
  render();
});

/** Asks scimd who the session cookie signs in (once per page load or sign-in change). */
async function signedIn() {
  if (administrator === undefined) {
    try {
      const session = await adminApi().get("/session");
      administrator = session?.signedIn ? session : null;
    } catch {
      administrator = null;
    }
  }
  return administrator;
}

/** The sign-in page has signed `who` in; goes on to `next` (the page asked for) or the instances. */
export function signIn(who, next) {
  administrator = who;
  tellOtherTabs("in");
  const target = typeof next === "string" && next.startsWith("/") && !next.startsWith("/sign-in") ? next : "/instances";
  location.hash = `#${target}`;
  if (location.hash === `#${target}`) render();
}

async function signOut(reason) {
  try {
    await adminApi().delete("/session");
  } catch {
    // Signed out here all the same; the session expires on its own.
  }
  administrator = null;
  tellOtherTabs("out");
  notice = reason ?? null;
  navigate("/sign-in");
}

/** scimd refused the session: sign in again, then come back here. */
function sessionEnded(reason) {
  administrator = null;
  notice = `Signed out: ${reason}`;
  navigate("/sign-in", { next: location.hash.replace(/^#/, "") });
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
  if (administrator) {
    session.append(
      h("span", { class: "signed-in-as" }, `Signed in as ${administrator.name}`),
      " ",
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
  // Asked on every page, the sign-in page too: it shows who is signed in, if anyone.
  const who = await signedIn();
  if (!route.public && !who) {
    // The address asked for survives the sign-in: a shared link to a filtered view works.
    navigate("/sign-in", { next: location.hash.replace(/^#/, "") });
    return;
  }
  renderNavigation(route, params);
  const api = adminApi(sessionEnded);
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
  fill(main, view);
  try {
    await route.page.render(view, context);
  } catch (error) {
    fill(view, 
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
