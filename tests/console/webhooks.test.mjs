// The webhooks pages: an administrator adds an endpoint (its secret shown once), sees its
// deliveries to a real receiver on a real port, sends a test event, rotates the secret,
// disables, enables, replays and deletes it; a failing endpoint shows its failures, and a
// disabled one says so with its reason.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { adminApi, BASE_URL, instanceWithKey, openBrowser, scim, scimUser, screenshot, signIn, uniqueName } from "./harness.mjs";

let browser;
let receiver;
before(async () => {
  browser = await openBrowser();
  receiver = await startReceiver();
});
after(async () => {
  await browser?.close();
  await receiver?.close();
});

/**
 * An HTTP receiver on a port of its own that accepts every delivery (200, "thanks") and keeps
 * what it was sent; `whenSent(predicate)` waits for a delivery that matches.
 */
async function startReceiver() {
  const received = [];
  const waiting = [];
  const server = createServer((request, response) => {
    const chunks = [];
    request.on("data", (chunk) => chunks.push(chunk));
    request.on("end", () => {
      const delivery = { path: request.url, headers: request.headers, body: JSON.parse(Buffer.concat(chunks).toString() || "null") };
      received.push(delivery);
      response.writeHead(200, { "Content-Type": "text/plain" });
      response.end("thanks");
      for (const wait of waiting.splice(0)) wait();
    });
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address();
  return {
    url: (path) => `http://127.0.0.1:${port}${path}`,
    received,
    async whenSent(matches) {
      for (;;) {
        const found = received.find(matches);
        if (found) return found;
        await new Promise((resolve) => waiting.push(resolve));
      }
    },
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}

/** A loopback address nothing listens on: every delivery to it is refused. */
async function closedPort() {
  const server = createServer();
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return `http://127.0.0.1:${port}/hook`;
}

test("an endpoint is added with its secret shown once, receives events, is tested, rotated, disabled, enabled, replayed and deleted", async () => {
  const { page, problems } = browser;
  const { instance, key } = await instanceWithKey("hooks");
  const path = `/hooks/${uniqueName("app")}`;
  const url = receiver.url(path);
  await signIn(page);
  problems.length = 0;

  await page.getByRole("link", { name: instance, exact: true }).click();
  await page.getByRole("navigation", { name: "Instance" }).getByRole("link", { name: "Webhooks" }).click();
  await page.getByRole("heading", { name: `Webhooks of ${instance}`, level: 1 }).waitFor();
  await page.getByText("This instance has no webhook endpoints yet.").waitFor();

  await page.getByLabel("URL").fill(url);
  await page.getByLabel("Description").fill("The application's sync");
  await page.getByLabel("user.created").check();
  await page.getByLabel("user.deleted").check();
  await page.getByRole("button", { name: "Add endpoint" }).click();
  const secret = page.locator("#issued-secret");
  await secret.waitFor();
  const first = (await secret.textContent()).trim();
  assert.match(first, /^whsec_/);
  await page.getByRole("main").getByText("Its signing secret is shown only this once").waitFor();
  const row = page.getByRole("row").filter({ hasText: url });
  await row.getByText("Enabled").waitFor();
  await row.getByText("The application's sync").waitFor();
  assert.deepEqual(await row.locator("td").nth(1).locator("li").allTextContents(), ["user.created", "user.deleted"]);
  await row.getByText("No delivery yet").waitFor();

  // Shown once: a fresh load lists the endpoint, never its secret.
  await page.reload();
  await row.waitFor();
  assert.equal(await page.locator("#issued-secret").count(), 0);
  assert.equal(await page.getByText(first).count(), 0);

  // A change of the instance reaches the receiver, signed, and the listing shows how it went.
  const userName = `${uniqueName("ada")}@example.com`;
  const created = await scim(key, "POST", "/Users", scimUser(userName));
  assert.equal(created.status, 201);
  const delivery = await receiver.whenSent((sent) => sent.path === path && sent.body?.type === "user.created");
  assert.match(delivery.headers["webhook-signature"], /^v1,/);
  assert.equal(delivery.body.data.resource.userName, userName);
  await page.reload();
  await row.getByText("Delivered: 200").waitFor();
  await screenshot(page, "webhooks");

  // Its page: settings, state, where delivery stands, and the delivery with its answer.
  await row.getByRole("link", { name: url }).click();
  await page.getByRole("heading", { name: `Webhook endpoint ${url}`, level: 1 }).waitFor();
  const facts = page.locator("dl.facts");
  await facts.getByText("The application's sync").waitFor();
  await facts.getByText("Enabled").waitFor();
  await facts.getByText(`after event cursor ${delivery.body.cursor}`).waitFor();
  const deliveries = page.locator("section[aria-labelledby=webhook-deliveries]");
  const delivered = deliveries.getByRole("row").filter({ hasText: delivery.body.id });
  await delivered.getByText("Delivered: 200").waitFor();
  await delivered.getByText("user.created").waitFor();
  await delivered.getByText("thanks").waitFor();
  assert.equal((await delivered.locator("td").nth(2).textContent()).trim(), "1", "the first attempt");

  // A test event, sent now, and its outcome.
  await page.getByRole("button", { name: "Send test event" }).click();
  await page.locator(".test-outcome").getByText("Test event delivered: the receiver answered 200").waitFor();
  await receiver.whenSent((sent) => sent.path === path && sent.body?.type === "webhook.test");
  await screenshot(page, "webhook");

  // Rotation shows the new secret once; the old one still signs for the overlap.
  await page.getByLabel("Overlap (hours)").fill("2");
  await page.getByRole("button", { name: "Rotate secret" }).click();
  await page.getByRole("main").getByText("The new one is shown only this once").waitFor();
  const rotated = (await page.locator("#issued-secret").textContent()).trim();
  assert.match(rotated, /^whsec_/);
  assert.notEqual(rotated, first);
  await facts.getByText("still signs until").waitFor();

  // Disabled, it says so first, with who disabled it; the listing says so too.
  page.once("dialog", (dialog) => dialog.accept());
  await page.getByRole("button", { name: "Disable endpoint" }).click();
  const banner = page.locator(".message.warning");
  await banner.getByText("This endpoint is disabled:").waitFor();
  assert.match(await banner.textContent(), /disabled by/);
  await facts.getByText("Disabled", { exact: true }).waitFor();
  await page.getByRole("link", { name: "Webhooks", exact: true }).first().click();
  await page.getByRole("heading", { name: `Webhooks of ${instance}` }).waitFor();
  await page.locator(".message.warning").getByRole("link", { name: url }).waitFor();
  await row.getByText("Disabled", { exact: true }).waitFor();

  // Enabled again, and replayed from the first event: it is delivered again.
  await row.getByRole("link", { name: url }).click();
  await page.getByRole("button", { name: "Enable endpoint" }).click();
  await page.getByRole("main").getByText("Endpoint enabled").waitFor();
  assert.equal(await page.locator(".message.warning").count(), 0);
  const sentBefore = receiver.received.length;
  await page.getByLabel("Replay from event").fill(delivery.body.id);
  page.once("dialog", (dialog) => dialog.accept());
  await page.getByRole("button", { name: "Replay", exact: true }).click();
  await page.getByRole("main").getByText(`Replaying from ${delivery.body.id}`).waitFor();
  await receiver.whenSent((sent) => receiver.received.indexOf(sent) >= sentBefore && sent.body?.id === delivery.body.id);

  // Deleted after a confirmation, it leaves the listing.
  let asked = "";
  page.once("dialog", (dialog) => {
    asked = dialog.message();
    dialog.accept();
  });
  await page.getByRole("button", { name: "Delete endpoint" }).click();
  await page.getByRole("heading", { name: `Webhooks of ${instance}` }).waitFor();
  assert.match(asked, /Delete the endpoint/);
  await page.getByRole("main").getByText(`Endpoint ${url} deleted`).waitFor();
  await page.getByText("This instance has no webhook endpoints yet.").waitFor();

  assert.deepEqual(problems, [], "no script error and no Content-Security-Policy refusal");
});

test("a failing endpoint shows each failed attempt and why, and is disabled with its reason when scimd gives up on it", async () => {
  const { page, problems } = browser;
  const { instance, key } = await instanceWithKey("failing");
  const down = await closedPort();
  const hooks = `/instances/${encodeURIComponent(instance)}/webhooks`;
  const { endpoint } = await adminApi("POST", hooks, { url: down, description: "Nobody listens" });
  await signIn(page);
  problems.length = 0;

  const base = `${BASE_URL}/admin/#/instances/${encodeURIComponent(instance)}`;
  await page.goto(`${base}/webhooks/${encodeURIComponent(endpoint.id)}`);
  await page.getByRole("heading", { name: `Webhook endpoint ${down}` }).waitFor();
  await page.locator("dl.facts").getByText("All event types").waitFor();
  await page.getByRole("button", { name: "Send test event" }).click();
  const outcome = page.locator(".test-outcome");
  await outcome.getByText("Test event not delivered: the receiver failed:").waitFor();
  assert.equal(await outcome.getAttribute("role"), "alert");
  const tested = page.locator("section[aria-labelledby=webhook-deliveries]").getByRole("row").filter({ hasText: "webhook.test" });
  await tested.getByText("Failed:").waitFor();
  await tested.getByText("No answer").waitFor();

  // An event it cannot take is retried until scimd gives up (after seconds in these tests,
  // three days by default) and disables the endpoint, saying why.
  const created = await scim(key, "POST", "/Users", scimUser(`${uniqueName("bo")}@example.com`));
  assert.equal(created.status, 201);
  const given = () => adminApi("GET", `${hooks}/${encodeURIComponent(endpoint.id)}`);
  while ((await given()).endpoint.state !== "disabled") {
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  await page.reload();
  const banner = page.locator(".message.warning");
  await banner.getByText("This endpoint is disabled:").waitFor();
  assert.match(await banner.textContent(), /failing for 3 seconds/);
  const retried = page.locator("section[aria-labelledby=webhook-deliveries]").getByRole("row").filter({ hasText: "user.created" });
  await retried.first().getByText("Failed:").waitFor();
  assert.ok((await retried.count()) >= 2, "each attempt of the event is logged");
  await screenshot(page, "webhook-disabled");

  await page.getByRole("link", { name: "Webhooks", exact: true }).first().click();
  const warning = page.locator(".message.warning");
  await warning.getByRole("link", { name: down }).waitFor();
  assert.match(await warning.textContent(), /failing for 3 seconds/);
  const row = page.getByRole("row").filter({ hasText: down });
  await row.getByText("Disabled", { exact: true }).waitFor();
  await row.getByText("Failed:").waitFor();

  assert.deepEqual(problems, [], "no script error and no Content-Security-Policy refusal");

  // The form refuses what scimd refuses, with scimd's reason (the browser logs the 400).
  await page.getByLabel("URL").fill("ftp://files.example.com/hook");
  await page.getByRole("button", { name: "Add endpoint" }).click();
  const refusal = page.getByRole("main").getByRole("alert");
  await refusal.waitFor();
  assert.match(await refusal.textContent(), /https/);
  assert.equal(await page.locator("#issued-secret").count(), 0);
});
