// Apply to existing users is previewed before anything is written: the issue's dangerous case,
// Display Name pointed at an attribute no user has, says that 19 users change and shows their
// names being blanked; Cancel writes nothing, the confirmed Apply does what it showed.
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

test("pointing Display Name at an attribute no user has shows 19 users change with blanked samples, and nothing is written until confirmed", async () => {
  const { page, problems } = browser;
  const { instance, key } = await instanceWithKey("preview");
  const path = `/instances/${encodeURIComponent(instance)}`;
  const start = uniqueName("blanked");
  for (let n = 0; n < 19; n += 1) {
    const name = `${start}-${String(n).padStart(2, "0")}@example.com`;
    const created = await scim(key, "POST", "/Users", scimUser(name, { displayName: `User ${n}` }));
    assert.equal(created.status, 201);
  }
  await adminApi("PUT", `${path}/mappings/Display%20Name`, { attribute: "nickName" });
  const directory = () => adminApi("GET", `${path}/directory/${encodeURIComponent(`${start}-00@example.com`)}`);
  const mapped = async () => (await adminApi("GET", `${path}/history`, undefined)).entries.filter((e) => e.action === "UserMapped").length;
  const mappedBefore = await mapped();
  await signIn(page);
  problems.length = 0;

  await page.goto(`${BASE_URL}/admin/#${path}/mapping`);
  await page.getByRole("heading", { name: `Attribute mapping of ${instance}`, level: 1 }).waitFor();
  await page.getByRole("button", { name: "Apply to existing users" }).click();
  await page.locator("main").getByText("19 users change, of 19 users checked. Nothing has been written yet.").waitFor();
  const sample = page.locator(".apply-preview table");
  await sample.locator("caption", { hasText: "The first 10 users that change" }).waitFor();
  const first = sample.getByRole("row").filter({ hasText: `${start}-00@example.com` });
  assert.match(await first.textContent(), /Display Name\s*User 0\s*\(blank\)/);
  assert.equal(await sample.locator("tbody tr").count(), 10);
  assert.equal(await page.getByRole("button", { name: "Apply to existing users" }).isDisabled(), true);
  await screenshot(page, "mapping-apply-preview");

  // Nothing is written by the preview, nor by Cancel.
  await page.getByRole("button", { name: "Cancel" }).click();
  assert.equal(await page.locator(".apply-preview table").count(), 0);
  assert.equal((await directory()).fields["Display Name"], "User 0");
  assert.equal(await mapped(), mappedBefore);

  await page.getByRole("button", { name: "Apply to existing users" }).click();
  await page.getByRole("button", { name: "Apply to 19 users" }).click();
  await page.locator("main .message.success", { hasText: "Mapping applied: 19 users checked, 19 changed." }).waitFor();
  assert.equal((await directory()).fields["Display Name"], undefined);

  // Once applied, there is nothing left to apply.
  await page.getByRole("button", { name: "Apply to existing users" }).click();
  await page.locator("main").getByText("No user changes: the fields of all 19 users already match the mapping.").waitFor();
  assert.equal(await page.getByRole("button", { name: /Apply to \d+ user/ }).count(), 0);
  await page.getByRole("button", { name: "Close" }).click();
  assert.deepEqual(problems, [], "no script error and no Content-Security-Policy refusal");
});
