// Signing in as a named administrator: one sign-in for every tab of the browser, kept where no
// page script can read it, ended everywhere by signing out; a deep link opened while signed out
// comes back after the sign-in; and the history says which person changed what, from the console.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { BASE_URL, adminApi, instanceWithKey, openBrowser, uniqueName } from "./harness.mjs";

let browser;
before(async () => {
  browser = await openBrowser();
});
after(async () => {
  await browser?.close();
});

/** A new named administrator, made through the admin API; their name and credential. */
async function newAdministrator() {
  const name = uniqueName("ada");
  const made = await adminApi("POST", "/admins", { name });
  return { name, token: made.token };
}

async function signInAs(page, token) {
  await page.getByLabel("Admin token").fill(token);
  await page.getByRole("button", { name: "Sign in" }).click();
}

test("a named administrator signs in once for every tab, out of scripts' reach, and signing out ends every tab", async () => {
  const { page, context, problems } = browser;
  const { name, token } = await newAdministrator();
  await page.goto(`${BASE_URL}/admin/#/sign-in`);
  await signInAs(page, token);
  await page.getByRole("heading", { name: "Instances", level: 1 }).waitFor();
  await page.getByText(`Signed in as ${name}`).waitFor();

  // Nothing a page script can read holds the sign-in or the credential.
  const readable = await page.evaluate(() => ({
    cookie: document.cookie,
    storage: JSON.stringify({ ...localStorage }) + JSON.stringify({ ...sessionStorage }),
  }));
  assert.doesNotMatch(readable.cookie, /scimd_admin_session/);
  assert.ok(!readable.storage.includes(token), "no credential in web storage");
  const cookies = await context.cookies();
  const session = cookies.find((cookie) => cookie.name === "scimd_admin_session");
  assert.ok(session, "the browser holds the session cookie");
  assert.equal(session.httpOnly, true);
  assert.equal(session.sameSite, "Strict");
  assert.notEqual(session.value, token, "the cookie is not the credential");

  // A second tab is signed in already.
  const second = await context.newPage();
  await second.goto(`${BASE_URL}/admin/#/instances`);
  await second.getByRole("heading", { name: "Instances", level: 1 }).waitFor();
  await second.getByText(`Signed in as ${name}`).waitFor();

  // Signing out in one tab signs out the other at once, and for good.
  await page.getByRole("button", { name: "Sign out" }).click();
  await page.getByRole("heading", { name: "Sign in to scimd admin" }).waitFor();
  await second.getByRole("heading", { name: "Sign in to scimd admin" }).waitFor();
  await second.reload();
  await second.getByRole("heading", { name: "Sign in to scimd admin" }).waitFor();
  await second.close();
  assert.deepEqual(problems, [], "no script error and no Content-Security-Policy refusal");
});

test("a deep link opened while signed out opens after the sign-in, filters and all", async () => {
  const { page, context } = browser;
  await context.clearCookies();
  const { instance } = await instanceWithKey("deep");
  const { token } = await newAdministrator();
  const hash = `#/instances/${encodeURIComponent(instance)}/history?actor=bootstrap+admin+token`;
  await page.goto(`${BASE_URL}/admin/${hash}`);
  await page.getByRole("heading", { name: "Sign in to scimd admin" }).waitFor();
  await signInAs(page, token);
  await page.getByRole("heading", { name: `Change history of ${instance}` }).waitFor();
  assert.equal(new URL(page.url()).hash, hash);
  assert.equal(await page.getByLabel("Actor").inputValue(), "bootstrap admin token");
});

test("a change made in the console is recorded as the person's, from the console", async () => {
  const { page, context } = browser;
  await context.clearCookies();
  const { instance } = await instanceWithKey("who");
  const { name, token } = await newAdministrator();
  await page.goto(`${BASE_URL}/admin/#/instances/${encodeURIComponent(instance)}/keys`);
  await signInAs(page, token);
  await page.getByRole("heading", { name: `API keys of ${instance}` }).waitFor();
  await page.getByLabel("Integration user").fill("entra-provisioning");
  await page.getByRole("button", { name: "Issue API key" }).click();
  await page.locator("#issued-key").waitFor();

  await page.goto(`${BASE_URL}/admin/#/instances/${encodeURIComponent(instance)}/history?order=newest`);
  await page.getByRole("heading", { name: `Change history of ${instance}` }).waitFor();
  const issued = page.getByRole("row").filter({ hasText: "KeyIssued" }).filter({ hasText: "entra-provisioning" });
  await issued.getByText(name).waitFor();
  await issued.getByText("via console").waitFor();
  // The key issued for the test's setup went through the admin API with the bootstrap token.
  const setup = page.getByRole("row").filter({ hasText: "KeyIssued" }).filter({ hasText: `${instance}-idp` });
  await setup.getByText("bootstrap admin token").waitFor();
  await setup.getByText("via admin-api").waitFor();
});
