// The audit page: every instance's hash chain with its head, and the read models verified
// against a rebuild from the event log on request, busy meanwhile.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { adminApi, instanceWithKey, openBrowser, scim, scimUser, screenshot, signIn, uniqueName } from "./harness.mjs";

let browser;
before(async () => {
  browser = await openBrowser();
});
after(async () => {
  await browser?.close();
});

test("each instance's chain is shown intact with its head, and the projections verify identical", async () => {
  const { page, problems } = browser;
  const { instance, key } = await instanceWithKey("audit");
  assert.equal((await scim(key, "POST", "/Users", scimUser(uniqueName("audited")))).status, 201);
  const chain = await adminApi("GET", `/instances/${encodeURIComponent(instance)}/audit`);
  await signIn(page);
  problems.length = 0;

  await page.getByRole("link", { name: "Audit", exact: true }).click();
  await page.getByRole("heading", { name: "Audit", level: 1 }).waitFor();
  const row = page.getByRole("row").filter({ has: page.getByRole("link", { name: instance, exact: true }) });
  await row.getByText("Intact").waitFor();
  await row.getByText(chain.head).waitFor();
  assert.equal(await row.locator("td.number").textContent(), String(chain.events));

  const verify = page.getByRole("button", { name: "Verify the read models" });
  await verify.click();
  // Busy until the report is in.
  await page.locator("main").getByText(/Every projection is identical to its rebuild from \d+ events/).waitFor({ timeout: 120_000 });
  assert.equal(await verify.isDisabled(), false);
  const table = page.getByRole("region", { name: "Read models" }).locator("table");
  for (const name of ["scim_users", "scim_user_emails", "history"]) {
    await table.getByRole("row").filter({ hasText: name }).getByText("Identical").first().waitFor();
  }
  await screenshot(page, "audit");
  assert.deepEqual(problems, [], "no script error and no Content-Security-Policy refusal");
});
