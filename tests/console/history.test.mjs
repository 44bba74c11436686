// The change history and user detail pages, as an administrator uses them: filtering, the
// user's timeline and "as of" view, exports that match the admin API, and a 10,000-entry
// history that still pages 50 entries at a time.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import {
  BASE_URL, adminApi, instanceWithKey, openBrowser, scim, scimUser, screenshot, signIn, uniqueName,
} from "./harness.mjs";

const PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
const BULK = "urn:ietf:params:scim:api:messages:2.0:BulkRequest";
// As `scimd history --format csv` prints it (CSV_HEADER in src/cli/history.rs).
const CSV_HEADER =
  "position,occurred_at,actor,key_id,source,user_agent,correlation_id,entity_type,entity_id,entity_name,action,details,member_type,member_id,member_name";

let browser;
before(async () => {
  browser = await openBrowser();
});
after(async () => {
  await browser?.close();
});

function historyUrl(instance, query = "") {
  return `${BASE_URL}/admin/#/instances/${encodeURIComponent(instance)}/history${query}`;
}

/** Every entry the admin API returns for `query`, all pages read. */
async function allEntries(instance, query) {
  const entries = [];
  let cursor = null;
  do {
    const search = new URLSearchParams({ ...query, count: "1000", ...(cursor ? { cursor } : {}) });
    const page = await adminApi("GET", `/instances/${encodeURIComponent(instance)}/history?${search}`);
    entries.push(...page.entries);
    cursor = page.nextCursor;
  } while (cursor);
  return entries;
}

async function provision(key, userName, extra) {
  const created = await scim(key, "POST", "/Users", scimUser(userName, extra));
  assert.equal(created.status, 201, JSON.stringify(created.body));
  return created.body.id;
}

test("a change is found in the history with its actor and values, and the user is shown as of it", async () => {
  const { page, problems } = browser;
  const { instance, key } = await instanceWithKey("history");
  const userName = `${uniqueName("ada")}@example.com`;
  const id = await provision(key, userName, { title: "Engineer" });
  const patched = await scim(key, "PATCH", `/Users/${id}`, {
    schemas: [PATCH],
    Operations: [{ op: "replace", path: "title", value: "Manager" }],
  });
  assert.equal(patched.status, 200, JSON.stringify(patched.body));
  await provision(key, `${uniqueName("other")}@example.com`);

  await signIn(page);
  problems.length = 0;
  await page.goto(historyUrl(instance));
  await page.getByRole("heading", { name: `Change history of ${instance}` }).waitFor();
  // The instance's creation and its key, then the users' six.
  await page.getByRole("table").getByText("Changes 1–8, oldest first").waitFor();

  await page.getByLabel("User name", { exact: true }).fill(userName);
  await page.getByRole("button", { name: "Apply filters" }).click();
  const expected = await allEntries(instance, { user: userName });
  assert.deepEqual(expected.map((entry) => entry.action), ["UserCreated", "UserMapped", "UserUpdated", "UserMapped"]);
  await page.getByRole("table").getByText("Changes 1–4, oldest first").waitFor();
  assert.match(decodeURIComponent(page.url()), new RegExp(`user=${userName}`), "the filter is in the address");

  const actor = `${instance}-idp`;
  const createdRow = page.getByRole("row").filter({ hasText: "UserCreated" });
  await createdRow.getByText(actor).waitFor();
  await createdRow.getByText(`userName: ${userName}`).waitFor();
  const updatedRow = page.getByRole("row").filter({ hasText: "UserUpdated" });
  assert.match(await updatedRow.textContent(), /title: Engineer → Manager/);
  assert.match(await updatedRow.textContent(), new RegExp(actor));
  assert.match(await updatedRow.textContent(), new RegExp(expected[2].correlationId));
  await screenshot(page, "history");

  await createdRow.getByRole("link", { name: userName }).click();
  await page.getByRole("heading", { name: `User ${userName}`, level: 1 }).waitFor();
  const timeline = page.getByRole("region", { name: "Timeline" });
  await timeline.getByText("Changes 1–4 to this user, oldest first").waitFor();
  const facts = page.locator("dl.facts").first();
  await facts.locator("dd", { hasText: /^Manager$/ }).waitFor();
  await page.getByRole("heading", { name: "Application directory entry" }).waitFor();
  await screenshot(page, "user");

  await timeline.getByRole("button", { name: /^View as of this change: UserCreated/ }).click();
  await page.getByRole("status").filter({ hasText: "Showing this user as it was at" }).waitFor();
  await facts.locator("dd", { hasText: /^Engineer$/ }).waitFor();
  assert.match(decodeURIComponent(page.url()), new RegExp(`at=${expected[0].occurredAt}`));

  await page.getByRole("link", { name: "Back to now" }).first().click();
  await facts.locator("dd", { hasText: /^Manager$/ }).waitFor();
  assert.equal(await page.getByText("Showing this user as it was at").count(), 0);
  assert.deepEqual(problems, [], "no script error and no Content-Security-Policy refusal");

  // Before the user was created, the API's reason is shown.
  const before = new Date(Date.parse(expected[0].occurredAt) - 60_000).toISOString();
  await page.goto(`${BASE_URL}/admin/#/instances/${encodeURIComponent(instance)}/users/${id}?at=${before}`);
  await page.getByRole("alert").filter({ hasText: "did not exist yet" }).waitFor();
  // Chromium reports the API's 404 itself; nothing else may go wrong.
  assert.deepEqual(problems.filter((problem) => !problem.includes("status of 404")), []);
});

test("exports hold exactly the filtered entries, and the user finder says when there is no such user", async () => {
  const { page } = browser;
  const { instance, key } = await instanceWithKey("export");
  const names = [0, 1, 2].map(() => `${uniqueName("grace")}@example.com`);
  const ids = [];
  for (const name of names) ids.push(await provision(key, name, { title: "Admiral, \"retired\"" }));
  await scim(key, "DELETE", `/Users/${ids[2]}`);

  await signIn(page);
  await page.goto(historyUrl(instance));
  await page.getByRole("heading", { name: `Change history of ${instance}` }).waitFor();
  await page.getByLabel("Action", { exact: true }).selectOption("UserCreated");
  await page.getByRole("button", { name: "Apply filters" }).click();
  await page.getByRole("table").getByText("Changes 1–3, oldest first").waitFor();
  const expected = await allEntries(instance, { action: "UserCreated" });
  assert.equal(expected.length, 3);

  const [jsonl] = await Promise.all([
    page.waitForEvent("download"),
    page.getByRole("button", { name: "Export JSON Lines" }).click(),
  ]);
  const lines = readFileSync(await jsonl.path(), "utf8").trimEnd().split("\n");
  assert.deepEqual(lines.map((line) => JSON.parse(line)), expected);
  await page.getByText("Exported 3 entries").waitFor();

  const [csv] = await Promise.all([
    page.waitForEvent("download"),
    page.getByRole("button", { name: "Export CSV" }).click(),
  ]);
  const rows = readFileSync(await csv.path(), "utf8").trimEnd().split("\n");
  assert.equal(rows[0], CSV_HEADER);
  assert.equal(rows.length, expected.length + 1, "the header and one line per entry");
  rows.slice(1).forEach((row, index) => {
    assert.ok(row.startsWith(`${expected[index].position},${expected[index].occurredAt},`), row);
    assert.ok(row.includes(expected[index].entityId), row);
  });

  const finder = page.getByLabel("Find a user by userName");
  // A name no user has exactly leads to the users it starts, here none.
  await finder.fill("nobody@example.com");
  await page.getByRole("button", { name: "Open user" }).click();
  await page.getByRole("heading", { name: `Users of ${instance}`, level: 1 }).waitFor();
  await page.getByText("No user's userName, display name or email address starts with “nobody@example.com”.").waitFor();
  await page.goBack();
  await finder.fill(names[1]);
  await page.getByRole("button", { name: "Open user" }).click();
  await page.getByRole("heading", { name: `User ${names[1]}`, level: 1 }).waitFor();
  assert.match(page.url(), new RegExp(`/users/${ids[1]}$`));
});

test("the CSV export writes text a spreadsheet would run as a formula as text, as the CLI does", async () => {
  const { page } = browser;
  const { instance, key } = await instanceWithKey("formula");
  const userName = `=${uniqueName("sum")}@example.com`;
  const userAgent = "@SUM(1+1)*cmd";
  const created = await scim(key, "POST", "/Users", scimUser(userName, {
    title: "-3+4",
    emails: [{ value: "plain@example.com", type: "work" }],
  }), { "User-Agent": userAgent });
  assert.equal(created.status, 201, JSON.stringify(created.body));

  await signIn(page);
  await page.goto(historyUrl(instance));
  await page.getByRole("heading", { name: `Change history of ${instance}` }).waitFor();
  // The instance's creation and its key, then the user's two.
  await page.getByRole("table").getByText("Changes 1–4, oldest first").waitFor();
  const [csv] = await Promise.all([
    page.waitForEvent("download"),
    page.getByRole("button", { name: "Export CSV" }).click(),
  ]);
  const rows = readFileSync(await csv.path(), "utf8").trimEnd().split("\n");
  assert.equal(rows.length, 5, rows.join("\n"));
  // The cells as `scimd history --format csv` writes them (tests/api/history.rs checks the CLI):
  // a leading "'" before "=", "+", "-", "@", a tab or a carriage return.
  const [entry] = await allEntries(instance, { action: "UserCreated" });
  const expected = [entry.position, entry.occurredAt, entry.actor, entry.keyId, entry.source, `'${userAgent}`,
    entry.correlationId, "User", entry.entityId, `'${userName}`, "UserCreated"].join(",");
  assert.ok(rows[3].startsWith(`${expected},"{`), `${rows[3]}\ndoes not start with\n${expected}`);
  for (const row of rows.slice(1)) assert.ok(!/,[=+\-@\t\r]/.test(row), row);
});

test("a 10,000-entry history pages 50 entries at a time and the page stays short", async () => {
  const { page } = browser;
  const { instance, key } = await instanceWithKey("big");
  // One create makes two entries (UserCreated, UserMapped): 5 Bulk requests of 1000 creates.
  const started = Date.now();
  // Sent side by side: measured two to three times faster than one after the other, on both stores.
  await Promise.all([0, 1, 2, 3, 4].map(async (batch) => {
    const prefix = uniqueName(`b${batch}`);
    const Operations = Array.from({ length: 1000 }, (_, index) => ({
      method: "POST",
      path: "/Users",
      bulkId: `u${index}`,
      data: scimUser(`${prefix}-${index}@example.com`),
    }));
    const response = await scim(key, "POST", "/Bulk", { schemas: [BULK], Operations });
    assert.equal(response.status, 200);
    const failed = response.body.Operations.filter((operation) => operation.status !== "201");
    assert.deepEqual(failed, []);
  }));
  const made = Date.now() - started;
  const everything = await allEntries(instance, {});
  const total = everything.length;
  console.log(`made ${total} history entries in ${(made / 1000).toFixed(1)} s`);
  assert.ok(total >= 10_000, `${total} entries`);

  await signIn(page);
  await page.goto(historyUrl(instance));
  const listing = page.getByRole("region", { name: "Changes" });
  await listing.getByText("Changes 1–50, oldest first").waitFor();
  const rows = listing.locator("tbody tr");
  assert.equal(await rows.count(), 50);
  const firstPage = await rows.first().textContent();
  const height = await page.evaluate(() => document.documentElement.scrollHeight);
  console.log(`the first page of the history is ${height} px high`);
 
  // 50 rows of at most three lines each (about 4,800 px): bounded whatever the history's size.
  assert.ok(height < 6000, `${height} px`);

  await page.getByRole("button", { name: "Next page" }).click();
  await listing.getByText("Changes 51–100, oldest first").waitFor();
  const focused = await page.evaluate(() => document.activeElement.textContent);
  assert.equal(focused, "Next page", "the focus stays on the pager for the next press");
  assert.equal(await rows.count(), 50);
  assert.notEqual(await rows.first().textContent(), firstPage);
  await page.getByRole("button", { name: "Previous page" }).click();
  await listing.getByText("Changes 1–50, oldest first").waitFor();
  assert.equal(await rows.first().textContent(), firstPage);

  await page.getByLabel("Order", { exact: true }).selectOption("newest");
  await page.getByRole("button", { name: "Apply filters" }).click();
  await listing.getByText("Changes 1–50, newest first").waitFor();
  const latest = everything[total - 1];
  const newestRow = await rows.first().textContent();
  assert.ok(newestRow.includes(latest.action) && newestRow.includes(latest.correlationId), newestRow);
  assert.equal(await rows.count(), 50);

  const [jsonl] = await Promise.all([
    page.waitForEvent("download"),
    page.getByRole("button", { name: "Export JSON Lines" }).click(),
  ]);
  const lines = readFileSync(await jsonl.path(), "utf8").trimEnd().split("\n");
  assert.equal(lines.length, total);
  await page.getByText(`Exported ${total} entries`).waitFor();
});
