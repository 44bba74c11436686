// The shared harness of the console's browser tests. scimd is already running: the Rust test
// `console` (tests/api/console.rs) starts it over a fresh store with an admin token and passes
// its address and token in the environment, so every browser test talks to a real server.
import { chromium } from "playwright-core";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

function required(name) {
  const value = process.env[name];
  if (!value) {
    throw new Error(`${name} is not set: run these tests through \`cargo test --test api console\``);
  }
  return value;
}

export const BASE_URL = required("SCIMD_URL");
export const ADMIN_TOKEN = required("SCIMD_ADMIN_TOKEN");
const CHROMIUM = process.env.SCIMD_CHROMIUM ?? "/usr/bin/chromium";
const SCREENSHOTS = process.env.SCIMD_SCREENSHOTS;

/**
 * A page in a fresh headless Chromium with an empty profile; `close()` removes both.
 * `bypassCSP` lets a test inject its own checking script (axe) past the console's policy;
 * `timezoneId` runs the browser in another time zone than the machine's.
 */
export async function openBrowser({ bypassCSP = false, timezoneId } = {}) {
  const profile = mkdtempSync(join(tmpdir(), "scimd-console-"));
  // The flags keep Chromium off the network beyond localhost: this machine refuses the
  // connections its background services would make.
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1366, height: 800 },
    bypassCSP,
    timezoneId,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
  const page = context.pages()[0] ?? (await context.newPage());
  const problems = [];
  page.on("pageerror", (error) => problems.push(`page error: ${error.message}`));
  page.on("console", (entry) => {
    if (entry.type() === "error") problems.push(`console error: ${entry.text()}`);
  });
  return {
    page,
    context,
    /** Script errors and Content-Security-Policy refusals the page met so far. */
    problems,
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** Signs in through the sign-in page (also when already signed in) and waits for the instances. */
export async function signIn(page) {
  await page.goto(`${BASE_URL}/admin/#/sign-in`);
  await page.getByLabel("Admin token").fill(ADMIN_TOKEN);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("heading", { name: "Instances", level: 1 }).waitFor();
}

/** A name no other test uses, so that tests sharing one server never meet. */
export function uniqueName(prefix) {
  return `${prefix}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
}

/** A call to the admin API, for setting up what a test is not about. */
export async function adminApi(method, path, body) {
  const response = await fetch(`${BASE_URL}/admin/v1${path}`, {
    method,
    headers: { Authorization: `Bearer ${ADMIN_TOKEN}`, "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

/** A new instance with a key, both made through the admin API. */
export async function instanceWithKey(prefix) {
  const instance = uniqueName(prefix);
  await adminApi("POST", "/instances", { name: instance });
  const issued = await adminApi("POST", `/instances/${encodeURIComponent(instance)}/keys`, {
    integrationUser: `${instance}-idp`,
  });
  return { instance, key: issued.key };
}

/** A SCIM request as an identity provider makes it; the response with its JSON body. */
export async function scim(key, method, path, body, headers = {}) {
  const response = await fetch(`${BASE_URL}/scim/v2${path}`, {
    method,
    headers: {
      Authorization: `Bearer ${key}`,
      "Content-Type": "application/scim+json",
      ...headers,
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: text ? JSON.parse(text) : null };
}

/** A SCIM User document. */
export function scimUser(userName, extra = {}) {
  return {
    schemas: ["urn:ietf:params:scim:schemas:core:2.0:User"],
    userName,
    name: { givenName: "Ada", familyName: "Lovelace" },
    emails: [{ value: userName, type: "work", primary: true }],
    ...extra,
  };
}

/**
 * Saves a picture of the page as `<name>.png` when the run asks for them (docs/console.md's
 * pictures are taken this way); the page is laid out at a laptop's width.
 */
export async function screenshot(page, name) {
  if (!SCREENSHOTS) return;
  mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });
}
