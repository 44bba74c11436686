// The group page: a group's name, its members by name (linked to their pages) 50 a page, and
// its history; groups in the change history and on a user's page lead to it.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { BASE_URL, instanceWithKey, openBrowser, scim, scimUser, screenshot, signIn, uniqueName } from "./harness.mjs";

let browser;
before(async () => {
  browser = await openBrowser();
});
after(async () => {
  await browser?.close();
});

function scimGroup(displayName, members) {
  return {
    schemas: ["urn:ietf:params:scim:schemas:core:2.0:Group"],
    displayName,
    members: members.map((id) => ({ value: id })),
  };
}

test("a group shows its name, its members by name and its history, and is reached from a user and the history", async () => {
  const { page, problems } = browser;
  const { instance, key } = await instanceWithKey("group");
  const adaName = uniqueName("ada");
  const bobName = uniqueName("bob");
  const ada = await scim(key, "POST", "/Users", scimUser(adaName, { displayName: "Ada Lovelace" }));
  const bob = await scim(key, "POST", "/Users", scimUser(bobName, { displayName: "Bob" }));
  const auditors = await scim(key, "POST", "/Groups", scimGroup("Auditors", []));
  const finance = await scim(key, "POST", "/Groups", scimGroup("Finance", [ada.body.id, bob.body.id, auditors.body.id]));
  assert.equal(finance.status, 201);
  await signIn(page);
  problems.length = 0;

  // From the user's page, its group.
  const base = `${BASE_URL}/admin/#/instances/${encodeURIComponent(instance)}`;
  await page.goto(`${base}/users/${ada.body.id}`);
  await page.locator("dl.facts").getByRole("link", { name: "Finance" }).click();
  await page.getByRole("heading", { name: "Group Finance", level: 1 }).waitFor();
  assert.match(page.url(), new RegExp(`/groups/${finance.body.id}$`));
  await page.locator("caption", { hasText: "Members 1–3 of 3" }).waitFor();
  const members = page.getByRole("region", { name: "Members" });
  await members.getByRole("link", { name: adaName }).waitFor();
  await members.getByText("Ada Lovelace").waitFor();
  await members.getByRole("link", { name: "Auditors" }).waitFor();
  const history = page.getByRole("region", { name: "History" });
  await history.getByText("GroupCreated").waitFor();
  await screenshot(page, "group");

  await members.getByRole("link", { name: bobName }).click();
  await page.getByRole("heading", { name: `User ${bobName}`, level: 1 }).waitFor();

  // From the change history, the group's entry.
  await page.goto(`${base}/history?action=GroupCreated`);
  await page.getByRole("link", { name: "Auditors" }).click();
  await page.getByRole("heading", { name: "Group Auditors", level: 1 }).waitFor();
  await page.getByText("This group has no members.").waitFor();
  assert.deepEqual(problems, [], "no script error and no Content-Security-Policy refusal");
});

test("a large group's members page 50 at a time", async () => {
  const { page } = browser;
  const { instance, key } = await instanceWithKey("big-group");
  const ids = [];
  for (let n = 0; n < 55; n += 1) {
    ids.push((await scim(key, "POST", "/Users", scimUser(uniqueName(`member-${n}`)))).body.id);
  }
  const group = await scim(key, "POST", "/Groups", scimGroup("Everyone", ids));
  await signIn(page);
  await page.goto(`${BASE_URL}/admin/#/instances/${encodeURIComponent(instance)}/groups/${group.body.id}`);
  await page.locator("caption", { hasText: "Members 1–50 of 55" }).waitFor();
  const members = page.getByRole("region", { name: "Members" });
  await members.getByRole("button", { name: "Next page" }).click();
  await page.locator("caption", { hasText: "Members 51–55 of 55" }).waitFor();
  assert.equal(await members.locator("tbody tr").count(), 5);
});
