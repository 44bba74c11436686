// The provisioning log as a support engineer uses it: find a failed create by its correlation
// id, read its SCIM error and its body without the password, narrow to failures or to one
// user, and page through a long log.
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

function logPath(instance, query = {}) {
  const search = new URLSearchParams(query).toString();
  return `/instances/${encodeURIComponent(instance)}/provisioning-log${search ? `?${search}` : ""}`;
}

async function openLog(page, instance) {
  await page.goto(`${BASE_URL}/admin/#/instances/${encodeURIComponent(instance)}/provisioning-log`);
  await page.getByRole("heading", { name: `Provisioning log of ${instance}`, level: 1 }).waitFor();
}

/** The listed requests' rows, once the listing whose caption starts with `caption` is shown. */
async function rowsOf(page, caption) {
  await page.locator("caption").filter({ hasText: caption }).waitFor();
  return page.locator("tr.entry");
}

test("a failed create is found by its correlation id, with its SCIM error and its body without the password", async () => {
  const { page, problems } = browser;
  const { instance, key } = await instanceWithKey("provlog");
  const userName = `${uniqueName("alice")}@corp.example`;
  const secret = `Hunter2-${uniqueName("pw")}`;

  const created = await scim(key, "POST", "/Users", scimUser(userName));
  assert.equal(created.status, 201);
  assert.equal((await scim(key, "GET", "/Users")).status, 200);
  // scimd names every request itself; a client's own X-Request-Id is not taken over.
  const refused = await scim(key, "POST", "/Users", scimUser(userName, { password: secret }), {
    "X-Request-Id": "idp-request-1",
  });
  assert.equal(refused.status, 409);
  const correlationId = refused.headers.get("x-request-id");
  assert.ok(correlationId, "scimd answers with the request's correlation id");
  const suffix = ` (correlation id ${correlationId})`;
  assert.ok(refused.body.detail.endsWith(suffix), "the SCIM error quotes the correlation id");
  const detail = refused.body.detail.slice(0, -suffix.length);
  assert.equal((await scim(key, "GET", `/Users/${created.body.id}`)).status, 200);

  const logged = await adminApi("GET", logPath(instance, { correlationId }));
  assert.equal(logged.entries.length, 1, "the log holds the request once");
  assert.equal(logged.entries[0].body.password, "[redacted]", "scimd stored the body without the password");

  await signIn(page);
  problems.length = 0;
  await openLog(page, instance);
  await rowsOf(page, "Requests 1–4");
  await page.getByLabel("Correlation id").fill(correlationId);
  await page.getByRole("button", { name: "Search" }).click();
  const rows = await rowsOf(page, "Requests 1–1");
  assert.match(page.url(), new RegExp(`correlationId=${correlationId}`), "the search is in the address");
  assert.equal(await rows.count(), 1, "exactly that request is listed");
  const row = rows.first();
  assert.equal(await row.getByText("Failed", { exact: true }).count(), 1, "it is marked failed with a badge");
  assert.match(await row.textContent(), /POST/);
  assert.match(await row.textContent(), /409/);
  await row.getByText(correlationId).waitFor();

  const details = row.getByRole("button", { name: /^Details of POST/ });
  assert.equal(await details.getAttribute("aria-expanded"), "false");
  await details.click();
  assert.equal(await details.getAttribute("aria-expanded"), "true");
  const panel = page.locator(`#${await details.getAttribute("aria-controls")}`);
  await panel.waitFor();
  const text = await panel.textContent();
  assert.ok(text.includes(refused.body.status), "the SCIM error's status");
  assert.ok(text.includes(refused.body.scimType), "the SCIM error's scimType");
  assert.ok(text.includes(detail), "the SCIM error's detail");
  const keyId = logged.entries[0].keyId;
  assert.ok(keyId && text.includes(keyId), "the key that sent it");
  const body = JSON.parse(await panel.locator("pre").textContent());
  assert.equal(body.userName, userName);
  assert.equal(body.password, "[redacted]");
  assert.ok(!(await page.content()).includes(secret), "the password is nowhere in the page");
  await screenshot(page, "provisioning-log");

  // From the keyboard: the button closes and reopens its detail and keeps the focus.
  await details.focus();
  await page.keyboard.press("Enter");
  await panel.waitFor({ state: "hidden" });
  assert.equal(await details.getAttribute("aria-expanded"), "false");
  await page.keyboard.press("Space");
  await panel.waitFor();
  assert.ok(await details.evaluate((button) => button === document.activeElement), "the focus stays on the button");

  assert.deepEqual(problems, [], "no script error and no Content-Security-Policy refusal");
});

test("failed requests only hides the successes, and a userName finds that user's requests in any case", async () => {
  const { page } = browser;
  const { instance, key } = await instanceWithKey("provlog");
  const bob = `${uniqueName("bob")}@corp.example`;
  const carol = `${uniqueName("carol")}@corp.example`;
  const made = await scim(key, "POST", "/Users", scimUser(bob));
  assert.equal(made.status, 201);
  assert.equal((await scim(key, "POST", "/Users", scimUser(carol))).status, 201);
  assert.equal((await scim(key, "GET", `/Users/${made.body.id}`)).status, 200);
  assert.equal((await scim(key, "POST", "/Users", scimUser(bob))).status, 409);
  assert.equal((await scim(key, "POST", "/Users", scimUser(carol))).status, 409);
  const failures = (await adminApi("GET", logPath(instance, { failed: "true", order: "newest" }))).entries;
  assert.equal(failures.length, 2);

  await signIn(page);
  await openLog(page, instance);
  await rowsOf(page, "Requests 1–5");
  await page.getByLabel("Failed requests only").check();
  await page.getByRole("button", { name: "Search" }).click();
  let rows = await rowsOf(page, "Requests 1–2");
  assert.match(page.url(), /failed=true/);
  assert.equal(await rows.count(), 2);
  assert.deepEqual(
    await rows.locator("td:nth-child(3)").allTextContents(),
    ["Failed 409", "Failed 409"],
    "every row listed is a failure, marked with a badge; no success is listed",
  );
  assert.deepEqual(
    await rows.locator("td:nth-child(5) code").allTextContents(),
    failures.map((entry) => entry.correlationId),
  );

  // Bob's requests, the one by id included, whatever the case typed.
  await page.getByLabel("Failed requests only").uncheck();
  await page.getByLabel("userName").fill(bob.toUpperCase());
  await page.getByRole("button", { name: "Search" }).click();
  rows = await rowsOf(page, "Requests 1–3");
  assert.equal(await rows.count(), 3);
  assert.equal(await rows.filter({ hasText: carol }).count(), 0, "not Carol's");
  assert.equal(await rows.filter({ hasText: `/Users/${made.body.id}` }).count(), 1, "the request by id");
  assert.equal(await rows.filter({ hasText: "Failed" }).count(), 1, "the failed create");

  // Nothing matching says so.
  await page.getByLabel("Failed requests only").check();
  await page.getByLabel("userName").fill(carol.replace("carol", "nobody"));
  await page.getByRole("button", { name: "Search" }).click();
  await page.getByText("No failed requests match these filters.").waitFor();

  // A time range is typed in UTC, as the console shows times (triage.test.mjs checks it in
  // another time zone); a time to the minute means its first second.
  await page.getByRole("button", { name: "Clear filters" }).click();
  await rowsOf(page, "Requests 1–5");
  await page.getByLabel("From").fill("2099-01-01T10:00");
  await page.getByRole("button", { name: "Search" }).click();
  await page.getByText("No requests match these filters.").waitFor();
  assert.equal(new URLSearchParams(page.url().split("?")[1]).get("since"), "2099-01-01T10:00:00.000Z");
  assert.equal(await page.getByLabel("From").inputValue(), "2099-01-01T10:00", "the form shows the range searched");
});

test("a log longer than a page is read 50 requests at a time, forward and back", async () => {
  const { page } = browser;
  const { instance, key } = await instanceWithKey("provlog");
  for (let batch = 0; batch < 6; batch += 1) {
    const answers = await Promise.all(
      Array.from({ length: 10 }, (_, index) => scim(key, "GET", `/Users?count=1&startIndex=${batch * 10 + index + 1}`)),
    );
    assert.ok(answers.every((answer) => answer.status === 200));
  }
  // The latest request, which a support engineer sees first.
  const latest = await scim(key, "GET", "/Users/the-latest-request");
  assert.equal(latest.status, 404);

  await signIn(page);
  await openLog(page, instance);
  let rows = await rowsOf(page, "Requests 1–50");
  assert.equal(await rows.count(), 50);
  const firstRow = await rows.first().textContent();
  assert.match(firstRow, /the-latest-request/, "newest first");
  const pages = page.getByRole("navigation", { name: "Provisioning log pages" });
  assert.ok(await pages.getByRole("button", { name: "Previous page" }).isDisabled());

  await pages.getByRole("button", { name: "Next page" }).click();
  rows = await rowsOf(page, "Requests 51–61");
  assert.equal(await rows.count(), 11);
  await pages.getByText("Page 2").waitFor();
  assert.ok(await pages.getByRole("button", { name: "Next page" }).isDisabled(), "the last page");

  await pages.getByRole("button", { name: "Previous page" }).click();
  rows = await rowsOf(page, "Requests 1–50");
  assert.equal(await rows.count(), 50);
  assert.equal(await rows.first().textContent(), firstRow, "back on the first page");
});
