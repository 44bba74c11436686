// Triage as a support engineer does it: from a key to its last use and requests (a revoked key
// still presented included), from a history entry to its request, from a user to its requests;
// the provisioning log's error column, key filter and correlation id in any case; a From after
// Until refused; every time in one form (UTC, milliseconds) and every picker in UTC to the
// second, whatever the browser's own time zone (this browser runs in India's, UTC+05:30).
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { BASE_URL, adminApi, instanceWithKey, openBrowser, scim, scimUser, signIn, uniqueName } from "./harness.mjs";

const PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
// The console's one form of a time: 2026-12-06 23:40:01.123 UTC.
const SHOWN_TIME = /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} UTC$/;

let browser;
before(async () => {
  browser = await openBrowser({ timezoneId: "Asia/Kolkata" });
});
after(async () => {
  await browser?.close();
});

function pageUrl(instance, page, query = {}) {
  const search = new URLSearchParams(query).toString();
  return `${BASE_URL}/admin/#/instances/${encodeURIComponent(instance)}/${page}${search ? `?${search}` : ""}`;
}

/** The time `iso` as the console shows it. */
function shown(iso) {
  return `${new Date(iso).toISOString().replace("T", " ").replace("Z", "")} UTC`;
}

/** Text nodes of the page that are only the word `null` (a value printed where none was). */
async function strayNulls(page) {
  return page.evaluate(() => {
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    let count = 0;
    while (walker.nextNode()) if (walker.currentNode.textContent.trim() === "null") count += 1;
    return count;
  });
}

async function logRows(page, caption) {
  await page.locator("caption").filter({ hasText: caption }).waitFor();
  return page.locator("tr.entry");
}

/** The key's `lastUsedAt` once written (the write runs beside the request). */
async function lastUsed(instance, keyId) {
  for (let tries = 0; tries < 200; tries += 1) {
    const keys = await adminApi("GET", `/instances/${encodeURIComponent(instance)}/keys`);
    const found = keys.find((key) => key.keyId === keyId)?.lastUsedAt;
    if (found) return found;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`the use of key ${keyId} was never written`);
}

test("keys show when they were last used, a revoked key still presented says so, and each leads to its requests", async () => {
  const { page, problems } = browser;
  const { instance, key } = await instanceWithKey("lastused");
  const listed = await adminApi("GET", `/instances/${encodeURIComponent(instance)}/keys`);
  const used = listed[0];
  assert.equal((await scim(key, "GET", "/Users")).status, 200);
  const usedAt = await lastUsed(instance, used.keyId);

  // A key revoked before its first use, still presented by an IdP that was not told.
  const stale = await adminApi("POST", `/instances/${encodeURIComponent(instance)}/keys`, { integrationUser: "stale-idp" });
  await adminApi("DELETE", `/instances/${encodeURIComponent(instance)}/keys/${stale.keyId}`);
  assert.equal((await scim(stale.key, "GET", "/Users")).status, 401);
  const refusedAt = await lastUsed(instance, stale.keyId);

  await signIn(page);
  problems.length = 0;
  await page.goto(pageUrl(instance, "keys"));
  const header = page.getByRole("columnheader", { name: "Last used" });
  await header.waitFor();
  const usedRow = page.getByRole("row").filter({ hasText: used.keyId });
  const usedTime = usedRow.locator("time");
  assert.equal(await usedTime.count(), 2, "created and last used");
  assert.equal(await usedTime.nth(1).textContent(), shown(usedAt));
  assert.match(await usedTime.nth(1).textContent(), SHOWN_TIME);
  const staleRow = page.getByRole("row").filter({ hasText: stale.keyId });
  await staleRow.getByText("Still used after revocation: refused").waitFor();
  assert.ok((await staleRow.textContent()).includes(shown(refusedAt)));
  assert.equal(await usedRow.getByText("Still used after revocation").count(), 0);

  await staleRow.getByRole("link", { name: `Requests with key ${stale.keyId}` }).click();
  const rows = await logRows(page, "Requests 1–1");
  assert.match(page.url(), new RegExp(`key=${stale.keyId}`));
  assert.equal(await page.getByLabel("Key", { exact: true }).inputValue(), stale.keyId, "the filter shows the key");
  assert.match(await rows.first().textContent(), /401/);
  assert.deepEqual(problems.filter((problem) => !problem.includes("status of 401")), []);
});

test("the provisioning log lists each error, filters by key, finds a correlation id in any case, and names users of requests by id", async () => {
  const { page, problems } = browser;
  const { instance, key } = await instanceWithKey("triage");
  const other = await adminApi("POST", `/instances/${encodeURIComponent(instance)}/keys`, { integrationUser: "second-idp" });
  const userName = `${uniqueName("ada")}@corp.example`;
  const created = await scim(key, "POST", "/Users", scimUser(userName));
  assert.equal(created.status, 201);
  const conflict = await scim(key, "POST", "/Users", scimUser(userName));
  assert.equal(conflict.status, 409);
  const patched = await scim(key, "PATCH", `/Users/${created.body.id}`, {
    schemas: [PATCH],
    Operations: [{ op: "replace", path: "title", value: "Countess" }],
  });
  assert.equal(patched.status, 200);
  const malformed = await fetch(`${BASE_URL}/scim/v2/Users`, {
    method: "POST",
    headers: { Authorization: `Bearer ${key}`, "Content-Type": "application/scim+json" },
    body: '{"userName": "half',
  });
  assert.equal(malformed.status, 400);
  assert.equal((await scim(other.key, "GET", "/Groups")).status, 200);

  await signIn(page);
  problems.length = 0;
  await page.goto(pageUrl(instance, "provisioning-log"));
  let rows = await logRows(page, "Requests 1–5");
  await page.getByRole("columnheader", { name: "Error" }).waitFor();
  const withStatus = (status) => rows.filter({ has: page.locator("td:nth-child(3)", { hasText: new RegExp(`${status}$`) }) });
  const conflictRow = withStatus(409);
  assert.match(await conflictRow.locator("td.log-error-text").textContent(), /^uniqueness: userName is already in use/);
  const patchRow = rows.filter({ hasText: "PATCH" });
  assert.ok((await patchRow.textContent()).includes(userName), "the request by id names the user");
  const malformedRow = withStatus(400);
  assert.match(await malformedRow.textContent(), /unknown \(body withheld: not valid JSON/);
  for (const cell of await rows.locator("td:first-child").allTextContents()) assert.match(cell, SHOWN_TIME);

  // The key filter: the second IdP's request alone.
  await page.getByLabel("Key", { exact: true }).selectOption(other.keyId);
  await page.getByRole("button", { name: "Search" }).click();
  rows = await logRows(page, "Requests 1–1");
  assert.match(await rows.first().textContent(), /GET \/scim\/v2\/Groups/);

  // A correlation id typed in capitals (as an IdP's log may show it) finds its request.
  await page.getByRole("button", { name: "Clear filters" }).click();
  await logRows(page, "Requests 1–5");
  const correlationId = conflict.headers.get("x-request-id");
  await page.getByLabel("Correlation id").fill(correlationId.toUpperCase());
  await page.getByRole("button", { name: "Search" }).click();
  rows = await logRows(page, "Requests 1–1");
  await rows.first().getByText(correlationId).waitFor();
  assert.deepEqual(problems, []);
});

test("a From after Until is refused on both listings, and the pickers take UTC to the second", async () => {
  const { page, problems } = browser;
  const { instance, key } = await instanceWithKey("range");
  assert.equal((await scim(key, "POST", "/Users", scimUser(`${uniqueName("lin")}@corp.example`))).status, 201);
  await signIn(page);
  problems.length = 0;
  for (const [listing, submit] of [["provisioning-log", "Search"], ["history", "Apply filters"]]) {
    await page.goto(pageUrl(instance, listing));
    await page.getByRole("heading", { level: 1 }).filter({ hasText: instance }).waitFor();
    const before = page.url();
    await page.getByLabel("From", { exact: true }).fill("2099-01-02T10:00:05");
    await page.getByLabel("Until", { exact: true }).fill("2099-01-01T10:00:01");
    await page.getByRole("button", { name: submit }).click();
    const alert = page.getByRole("alert").filter({ hasText: "is after Until" });
    await alert.waitFor();
    assert.match(await alert.textContent(), /2099-01-02 10:00:05\.000 UTC/, `${listing}: the From as typed, in UTC`);
    assert.equal(page.url(), before, `${listing}: nothing was searched`);

    // Swapped, it is a range, sent as the UTC typed (the browser's own zone is +05:30).
    await page.getByLabel("From", { exact: true }).fill("2099-01-01T10:00:01");
    await page.getByLabel("Until", { exact: true }).fill("2099-01-02T10:00:05");
    await page.getByRole("button", { name: submit }).click();
    await page.waitForURL(/since=/);
    const query = new URLSearchParams(page.url().split("?")[1]);
    assert.equal(query.get("since"), "2099-01-01T10:00:01.000Z", listing);
    assert.equal(query.get("until"), "2099-01-02T10:00:05.999Z", `${listing}: the whole second`);
    assert.equal(await page.getByLabel("Until", { exact: true }).inputValue(), "2099-01-02T10:00:05");
    assert.equal(await page.getByLabel("From", { exact: true }).getAttribute("step"), "1", "to the second");

    // A shared address with the range the wrong way round gets the API's reason.
    await page.goto(pageUrl(instance, listing, { since: "2099-01-02T00:00:00Z", until: "2099-01-01T00:00:00Z" }));
    await page.getByRole("alert").filter({ hasText: "is after until" }).waitFor();
  }
  assert.deepEqual(problems.filter((problem) => !problem.includes("status of 400")), []);
});

test("a history entry leads to its request, a user to its requests, and an empty history says so without a stray null", async () => {
  const { page, problems } = browser;
  const { instance, key } = await instanceWithKey("links");
  await signIn(page);
  problems.length = 0;
  // The instance's creation and its key are changes of its own: no user was deleted yet.
  await page.goto(pageUrl(instance, "history", { action: "UserDeleted" }));
  await page.getByText("No change matches these filters.").waitFor();
  const empty = await page.getByRole("region", { name: "Changes" }).textContent();
  assert.ok(!/null/.test(empty), `the empty state is only its sentence: ${empty}`);
  assert.equal(await strayNulls(page), 0);

  const userName = `${uniqueName("grace")}@corp.example`;
  const created = await scim(key, "POST", "/Users", scimUser(userName));
  assert.equal(created.status, 201);
  const createdId = created.headers.get("x-request-id");
  await page.goto(pageUrl(instance, "history", { action: "UserCreated" }));
  const row = page.getByRole("row").filter({ hasText: "UserCreated" });
  await row.waitFor();
  assert.match(await row.locator("time").textContent(), SHOWN_TIME);
  await row.getByRole("link", { name: createdId }).click();
  const rows = await logRows(page, "Requests 1–1");
  assert.match(page.url(), new RegExp(`correlationId=${createdId}`));
  assert.match(await rows.first().textContent(), /POST \/scim\/v2\/Users/);

  // From the user's page to every request about the user, the one by id included.
  assert.equal((await scim(key, "GET", `/Users/${created.body.id}`)).status, 200);
  await page.goto(`${BASE_URL}/admin/#/instances/${encodeURIComponent(instance)}/users/${created.body.id}`);
  await page.getByRole("heading", { name: `User ${userName}`, level: 1 }).waitFor();
  const timeline = page.getByRole("region", { name: "Timeline" });
  await timeline.getByText("Changes 1–2 to this user, oldest first").waitFor();
  assert.equal(await strayNulls(page), 0, "no stray null under the timeline");
  await page.getByRole("link", { name: "Requests of this user" }).click();
  const requests = await logRows(page, "Requests 1–2");
  assert.equal(await requests.filter({ hasText: `/Users/${created.body.id}` }).count(), 1, "the request by id");
  assert.deepEqual(problems, []);
});
