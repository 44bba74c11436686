// Membership from both sides, as an auditor asks "when did ada join Finance, and who put her
// there?": the user's timeline lists the groups she joined and left by their names then, with
// who did it, and the history page names each member of a group's change, linking to the user.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import {
  BASE_URL, adminApi, instanceWithKey, openBrowser, scim, scimUser, screenshot, signIn, uniqueName,
} from "./harness.mjs";

const PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

let browser;
before(async () => {
  browser = await openBrowser();
});
after(async () => {
  await browser?.close();
});

async function patchGroup(key, id, operation) {
  const patched = await scim(key, "PATCH", `/Groups/${id}`, { schemas: [PATCH], Operations: [operation] });
  assert.ok(patched.status < 300, JSON.stringify(patched.body));
}

async function history(instance, query) {
  const search = new URLSearchParams({ ...query, count: "1000" });
  const page = await adminApi("GET", `/instances/${encodeURIComponent(instance)}/history?${search}`);
  assert.equal(page.nextCursor, null);
  return page.entries;
}

test("a user's timeline shows the groups it joined and left, and the history names members with links", async () => {
  const { page, problems } = browser;
  const { instance, key } = await instanceWithKey("members");
  const userName = `${uniqueName("ada")}@example.com`;
  const created = await scim(key, "POST", "/Users", scimUser(userName));
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const ada = created.body.id;
  const group = await scim(key, "POST", "/Groups", {
    schemas: ["urn:ietf:params:scim:schemas:core:2.0:Group"],
    displayName: "Finance",
  });
  assert.equal(group.status, 201, JSON.stringify(group.body));
  const finance = group.body.id;
  await patchGroup(key, finance, { op: "add", path: "members", value: [{ value: ada }] });
  await patchGroup(key, finance, { op: "replace", path: "displayName", value: "Finance EU" });
  await patchGroup(key, finance, { op: "remove", path: `members[value eq "${ada}"]` });
  const entries = await history(instance, { id: ada });
  const joined = entries.find((entry) => entry.action === "GroupMemberAdded");
  const left = entries.find((entry) => entry.action === "GroupMemberRemoved");
  assert.ok(joined && left, JSON.stringify(entries));

  await signIn(page);
  problems.length = 0;
  await page.goto(`${BASE_URL}/admin/#/instances/${encodeURIComponent(instance)}/users/${ada}`);
  await page.getByRole("heading", { name: `User ${userName}`, level: 1 }).waitFor();
  const timeline = page.getByRole("region", { name: "Timeline" });
  await timeline.getByText(`Changes 1–${entries.length} to this user, oldest first`).waitFor();
  const joinedRow = timeline.getByRole("row").filter({ hasText: "GroupMemberAdded" });
  const joinedText = await joinedRow.textContent();
  for (const shown of ["Added to group: Finance", `${instance}-idp`, "via scim", joined.keyId, joined.correlationId]) {
    assert.ok(joinedText.includes(shown), `${shown} in ${joinedText}`);
  }
  assert.ok(!joinedText.includes("Finance EU"), "the group's name when she joined");
  const leftText = await timeline.getByRole("row").filter({ hasText: "GroupMemberRemoved" }).textContent();
  assert.ok(leftText.includes("Removed from group: Finance EU"), leftText);
  assert.ok(leftText.includes(left.correlationId), leftText);
  await screenshot(page, "user-memberships");

  // As of her joining, she is in Finance; as of her leaving, in no group.
  const facts = page.locator("dl.facts").first();
  await joinedRow.getByRole("button", { name: /^View as of this change: GroupMemberAdded/ }).click();
  await page.getByRole("status").filter({ hasText: "Showing this user as it was at" }).waitFor();
  await facts.locator("dt", { hasText: /^groups$/ }).waitFor();
  assert.match(await facts.textContent(), /groupsFinance/);
  await timeline.getByRole("row").filter({ hasText: "GroupMemberRemoved" })
    .getByRole("button", { name: /^View as of this change/ }).click();
  await page.waitForFunction(() => !/groups/.test(document.querySelector("dl.facts")?.textContent ?? "groups"));

  // The group's side: the history names the member, links to her page, and keeps her id.
  await page.goto(`${BASE_URL}/admin/#/instances/${encodeURIComponent(instance)}/history?action=GroupMemberAdded`);
  const listing = page.getByRole("region", { name: "Changes" });
  await listing.getByText("Changes 1–1, oldest first").waitFor();
  const memberRow = listing.getByRole("row").filter({ hasText: "GroupMemberAdded" });
  const memberText = await memberRow.textContent();
  assert.ok(memberText.includes(`added user: ${userName}`), memberText);
  assert.ok(memberText.includes(ada), memberText);
  assert.ok(!memberText.includes('"kind"'), `no raw member JSON: ${memberText}`);
  await screenshot(page, "history-members");

  // Exports carry the member as the CLI writes it.
  const [csv] = await Promise.all([
    page.waitForEvent("download"),
    page.getByRole("button", { name: "Export CSV" }).click(),
  ]);
  const rows = readFileSync(await csv.path(), "utf8").trimEnd().split("\n");
  assert.ok(rows[0].endsWith(",details,member_type,member_id,member_name"), rows[0]);
  assert.ok(rows[1].endsWith(`,User,${ada},${userName}`), rows[1]);
  const [jsonl] = await Promise.all([
    page.waitForEvent("download"),
    page.getByRole("button", { name: "Export JSON Lines" }).click(),
  ]);
  const lines = readFileSync(await jsonl.path(), "utf8").trimEnd().split("\n").map((line) => JSON.parse(line));
  assert.deepEqual(lines, [joined]);
  assert.equal(lines[0].memberName, userName);

  await memberRow.getByRole("link", { name: userName }).last().click();
  await page.getByRole("heading", { name: `User ${userName}`, level: 1 }).waitFor();
  assert.match(page.url(), new RegExp(`/users/${ada}$`));
  assert.deepEqual(problems, [], "no script error and no Content-Security-Policy refusal");
});

test("a user's timeline says it left a group when the group was deleted, and the history page says whom it removed", async () => {
  const { page, problems } = browser;
  const { instance, key } = await instanceWithKey("deleted-group");
  const userName = `${uniqueName("bo")}@example.com`;
  const created = await scim(key, "POST", "/Users", scimUser(userName));
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const bo = created.body.id;
  const group = await scim(key, "POST", "/Groups", {
    schemas: ["urn:ietf:params:scim:schemas:core:2.0:Group"],
    displayName: "Payroll",
    members: [{ value: bo }],
  });
  assert.equal(group.status, 201, JSON.stringify(group.body));
  const deleted = await scim(key, "DELETE", `/Groups/${group.body.id}`);
  assert.equal(deleted.status, 204, JSON.stringify(deleted.body));
  const entries = await history(instance, { id: bo });
  const left = entries.find((entry) => entry.action === "GroupDeleted");
  assert.ok(left && left.memberId === bo && left.entityName === "Payroll", JSON.stringify(entries));

  await signIn(page);
  problems.length = 0;
  await page.goto(`${BASE_URL}/admin/#/instances/${encodeURIComponent(instance)}/users/${bo}`);
  await page.getByRole("heading", { name: `User ${userName}`, level: 1 }).waitFor();
  const timeline = page.getByRole("region", { name: "Timeline" });
  await timeline.getByText(`Changes 1–${entries.length} to this user, oldest first`).waitFor();
  const leftRow = timeline.getByRole("row").filter({ hasText: "GroupDeleted" });
  const leftText = await leftRow.textContent();
  for (const shown of ["Left deleted group: Payroll", "via scim", left.keyId, left.correlationId]) {
    assert.ok(leftText.includes(shown), `${shown} in ${leftText}`);
  }
  await screenshot(page, "user-left-deleted-group");

  // Filtered by her name, the history page says the deletion removed her.
  await page.goto(`${BASE_URL}/admin/#/instances/${encodeURIComponent(instance)}/history?user=${encodeURIComponent(userName)}&action=GroupDeleted`);
  const listing = page.getByRole("region", { name: "Changes" });
  await listing.getByText("Changes 1–1, oldest first").waitFor();
  const rowText = await listing.getByRole("row").filter({ hasText: "GroupDeleted" }).textContent();
  assert.ok(rowText.includes(`removed user (group deleted): ${userName}`), rowText);
  assert.deepEqual(problems, [], "no script error and no Content-Security-Policy refusal");
});
