// Sign-in, instances and API keys, as an administrator uses them.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { ADMIN_TOKEN, BASE_URL, openBrowser, scim, screenshot, signIn, uniqueName } from "./harness.mjs";

let browser;
before(async () => {
  browser = await openBrowser();
});
after(async () => {
  await browser?.close();
});

test("a wrong token is refused with a message, and the right one signs in from the keyboard", async () => {
  const { page } = browser;
  await page.goto(`${BASE_URL}/admin`);
  const token = page.getByLabel("Admin token");
  await token.fill("not-the-admin-token-0123456789abcdef");
  await token.press("Enter");
  await page.getByRole("alert").filter({ hasText: "not the admin token" }).waitFor();
  await screenshot(page, "sign-in");

  await token.fill(ADMIN_TOKEN);
  await token.press("Enter");
  await page.getByRole("heading", { name: "Instances", level: 1 }).waitFor();
  assert.match(page.url(), /#\/instances$/);
});

test("an administrator creates an instance, issues a key shown once, and revokes it", async () => {
  const { page, problems } = browser;
  await signIn(page);
  problems.length = 0;
  const instance = uniqueName("acme");
  await page.getByLabel("New instance name").fill(instance);
  await page.getByRole("button", { name: "Create instance" }).click();
  await page.getByRole("main").getByText(`Instance ${instance} created.`).waitFor();
  await screenshot(page, "instances");
  await page.getByRole("link", { name: instance, exact: true }).click();
  await page.getByRole("heading", { name: `API keys of ${instance}` }).waitFor();
  await page.getByText("This instance has no API keys yet.").waitFor();

  await page.getByLabel("Integration user").fill("okta-provisioning");
  await page.getByRole("button", { name: "Issue API key" }).click();
  const secret = page.locator("#issued-key");
  await secret.waitFor();
  const key = (await secret.textContent()).trim();
  assert.match(key, /^scimd_/);
  await page.getByRole("main").getByText("it is shown only this once").waitFor();
  const row = page.getByRole("row").filter({ hasText: "okta-provisioning" });
  await row.getByText("Active").waitFor();
  await screenshot(page, "keys");

  const listed = await scim(key, "GET", "/Users");
  assert.equal(listed.status, 200, "the key works at once");

  // Shown once: a fresh load of the page lists the key, never its secret.
  await page.reload();
  await page.getByRole("heading", { name: `API keys of ${instance}` }).waitFor();
  await row.waitFor();
  assert.equal(await page.locator("#issued-key").count(), 0);
  assert.equal(await page.getByText(key).count(), 0);

  page.once("dialog", (dialog) => dialog.accept());
  await row.getByRole("button", { name: /^Revoke key/ }).click();
  await row.getByText("Revoked").waitFor();
  const refused = await scim(key, "GET", "/Users");
  assert.equal(refused.status, 401, "a revoked key is refused");

  assert.deepEqual(problems, [], "no script error and no Content-Security-Policy refusal");
});

test("a duplicate instance name is refused with the API's reason", async () => {
  const { page } = browser;
  await signIn(page);
  const name = page.getByLabel("New instance name");
  await name.fill("default");
  await page.getByRole("button", { name: "Create instance" }).click();
  const alert = page.getByRole("alert");
  await alert.waitFor();
  assert.match(await alert.textContent(), /default/);
});
