// The roles page: an instance's allowed and default roles, changed from the console; a user
// refused for a role is accepted once the role is allowed here.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { BASE_URL, adminApi, instanceWithKey, openBrowser, scim, scimUser, screenshot, signIn, uniqueName } from "./harness.mjs";

let browser;
before(async () => {
  browser = await openBrowser();
});
after(async () => {
  await browser?.close();
});

test("a role refusal is fixed by allowing the role, and a bad change is refused with scimd's reason", async () => {
  const { page, problems } = browser;
  const { instance, key } = await instanceWithKey("roles");
  const approver = scimUser(uniqueName("approver"), { roles: [{ value: "Approver" }] });
  const refused = await scim(key, "POST", "/Users", approver);
  assert.equal(refused.status, 400);
  assert.match(refused.body.detail, /Approver/);
  await signIn(page);
  problems.length = 0;

  await page.goto(`${BASE_URL}/admin/#/instances/${encodeURIComponent(instance)}/roles`);
  await page.getByRole("heading", { name: `Roles of ${instance}`, level: 1 }).waitFor();
  const now = page.getByRole("region", { name: "Roles now" });
  await now.getByText("User").first().waitFor();
  assert.equal(await page.getByRole("textbox", { name: "Allowed roles" }).inputValue(), "User");

  await page.getByRole("textbox", { name: "Allowed roles" }).fill("User, Approver");
  await page.getByRole("button", { name: "Save allowed roles" }).click();
  await page.locator("main .message.success", { hasText: "Allowed roles: User, Approver." }).waitFor();
  await now.getByText("User, Approver").waitFor();
  const roles = (path) => adminApi("GET", `/instances/${encodeURIComponent(instance)}/roles${path}`);
  assert.deepEqual(await roles(""), { allowed: ["User", "Approver"], default: ["User"] });
  assert.equal((await scim(key, "POST", "/Users", approver)).status, 201, "the refused user is accepted now");
  await screenshot(page, "roles");

  assert.deepEqual(problems, [], "no script error and no Content-Security-Policy refusal");

  // A default role that is not allowed is refused, and nothing changes.
  await page.getByRole("textbox", { name: "Default roles" }).fill("Superuser");
  await page.getByRole("button", { name: "Save default roles" }).click();
  await page.getByRole("alert").waitFor();
  assert.match(await page.getByRole("alert").textContent(), /Superuser/);
  assert.deepEqual((await roles("")).default, ["User"]);

  await page.getByLabel("Allow any role").check();
  assert.equal(await page.getByRole("textbox", { name: "Allowed roles" }).isDisabled(), true);
  await page.getByRole("button", { name: "Save allowed roles" }).click();
  await page.locator("main .message.success", { hasText: "Any role is now allowed." }).waitFor();
  await now.getByText("Any role").waitFor();
  assert.equal((await roles("")).allowed, "any");
  // The browser notes the refusal's 400 itself; nothing else went wrong.
  assert.deepEqual(problems.filter((problem) => !problem.includes("400 (Bad Request)")), []);
});
