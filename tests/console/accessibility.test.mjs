// Every page of the console checked by axe-core against WCAG 2.1 A and AA (labels, names,
// contrast, landmarks, table headers), in the states an administrator sees them in.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { adminApi, BASE_URL, instanceWithKey, openBrowser, scim, scimUser, signIn, uniqueName } from "./harness.mjs";

const AXE = createRequire(import.meta.url).resolve("axe-core/axe.min.js");

let browser;
before(async () => {
  browser = await openBrowser({ bypassCSP: true });
});
after(async () => {
  await browser?.close();
});

/** axe's violations on the page as it is now, one readable line each. */
async function violations(page, name) {
  await page.addScriptTag({ path: AXE });
  const found = await page.evaluate(() =>
    // eslint-disable-next-line no-undef
    axe.run(document, { runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"] } }),
  );
  // A value a condition left out must not show as the text "null" or "undefined".
  const stray = await page.evaluate(() => {
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    const texts = [];
    while (walker.nextNode()) {
      if (/^(null|undefined)$/.test(walker.currentNode.textContent.trim())) {
        texts.push(walker.currentNode.parentElement?.outerHTML.slice(0, 200));
      }
    }
    return texts;
  });
  return [
    ...found.violations.map(
      (violation) =>
        `${name}: ${violation.id} (${violation.impact}) ${violation.help}: ` +
        violation.nodes.map((node) => node.target.join(" ")).join(", "),
    ),
    ...stray.map((html) => `${name}: stray text in ${html}`),
  ];
}

test("every page meets WCAG 2.1 AA as axe checks it", async () => {
  const { page } = browser;
  const { instance, key } = await instanceWithKey("a11y");
  const userName = `${uniqueName("grace")}@example.com`;
  const created = await scim(key, "POST", "/Users", scimUser(userName));
  assert.equal(created.status, 201);
  await scim(key, "POST", "/Users", scimUser(userName)); // a failed request for the log
  // A member change, named on the history page and on the user's timeline.
  const group = await scim(key, "POST", "/Groups", {
    schemas: ["urn:ietf:params:scim:schemas:core:2.0:Group"],
    displayName: "Auditors",
    members: [{ value: created.body.id }],
  });
  assert.equal(group.status, 201);
  const emptyGroup = await scim(key, "POST", "/Groups", {
    schemas: ["urn:ietf:params:scim:schemas:core:2.0:Group"],
    displayName: "Nobody yet",
  });
  assert.equal(emptyGroup.status, 201);
  const found = [];

  await page.goto(`${BASE_URL}/admin/#/sign-in`);
  await page.getByLabel("Admin token").fill("wrong-token-0123456789abcdefghijklmnop");
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("alert").waitFor();
  found.push(...(await violations(page, "sign-in with an error")));

  await signIn(page);
  await page.getByRole("link", { name: instance, exact: true }).waitFor();
  found.push(...(await violations(page, "instances")));

  const base = `${BASE_URL}/admin/#/instances/${encodeURIComponent(instance)}`;
  const instancePath = (rest) => `/instances/${encodeURIComponent(instance)}${rest}`;
  await page.goto(`${base}/keys`);
  await page.getByLabel("Integration user").fill("entra");
  await page.getByRole("button", { name: "Issue API key" }).click();
  await page.locator("#issued-key").waitFor();
  found.push(...(await violations(page, "keys with a key just issued")));

  for (const [path, name] of [
    ["/mapping", "mapping"],
    ["/history", "change history"],
    ["/provisioning-log", "provisioning log"],
    [`/users/${created.body.id}`, "user detail"],
    ["/users?q=grace", "users"],
    [`/groups/${group.body.id}`, "group"],
    ["/roles", "roles"],
  ]) {
    await page.goto(`${base}${path}`);
    // Each page has loaded once its table (or its empty state) is there.
    await page.locator("main table, main .empty, main dl.facts").first().waitFor();
    found.push(...(await violations(page, name)));
  }

  // The webhooks: a listing with a disabled endpoint, its warning and a failed test, and the
  // endpoint's page with its failed attempt logged and the test's outcome shown.
  const hooks = instancePath("/webhooks");
  const { endpoint } = await adminApi("POST", hooks, { url: "http://127.0.0.1:9/a11y", types: ["user.created"], description: "Down" });
  await adminApi("POST", `${hooks}/${endpoint.id}/test`, {});
  await adminApi("POST", `${hooks}/${endpoint.id}/disable`, {});
  await page.goto(`${base}/webhooks`);
  await page.locator("main .message.warning").waitFor();
  await page.getByLabel("URL").fill("http://127.0.0.1:9/shown-once");
  await page.getByRole("button", { name: "Add endpoint" }).click();
  await page.locator("#issued-secret").waitFor();
  found.push(...(await violations(page, "webhooks with a disabled endpoint and a secret just shown")));
  await page.goto(`${base}/webhooks/${endpoint.id}`);
  await page.locator("main .message.warning").waitFor();
  await page.getByRole("button", { name: "Send test event" }).click();
  await page.locator("main .test-outcome").waitFor();
  await page.locator("main section[aria-labelledby=webhook-deliveries] table, main section[aria-labelledby=webhook-deliveries] .empty").first().waitFor();
  found.push(...(await violations(page, "webhook endpoint with a failed test")));

  // A group without members: its members' empty state.
  await page.goto(`${base}/groups/${emptyGroup.body.id}`);
  await page.locator("main .empty").first().waitFor();
  found.push(...(await violations(page, "group without members")));

  await page.goto(`${base}/mapping`);
  await page.getByRole("button", { name: "Apply to existing users" }).click();
  await page.locator(".apply-preview .preview-summary").waitFor();
  found.push(...(await violations(page, "mapping with the apply preview")));

  await page.goto(`${BASE_URL}/admin/#/audit`);
  await page.getByRole("button", { name: "Verify the read models" }).click();
  await page.locator("main [aria-labelledby=audit-verify] table").waitFor({ timeout: 120_000 });
  found.push(...(await violations(page, "audit with the read models verified")));
  assert.deepEqual(found, []);
});

test("the keyboard starts in the page after each navigation, and the skip link jumps there from the top", async () => {
  const { page } = browser;
  await signIn(page);
  const { instance } = await instanceWithKey("keyboard");
  // The instances page left the focus on `main` too: without this the wait below could pass
  // before the keys page has loaded, and its load would then take the focus back from the Tab.
  await page.evaluate(() => document.activeElement?.blur());
  await page.goto(`${BASE_URL}/admin/#/instances/${encodeURIComponent(instance)}/keys`);
  await page.getByRole("heading", { name: `API keys of ${instance}` }).waitFor();
  // The shell moves the focus once the page has loaded, listing included.
  await page.waitForFunction(() => document.activeElement?.id === "main");
  await page.keyboard.press("Tab");
  assert.equal(await page.evaluate(() => document.activeElement?.name), "integrationUser", "its first control is next");

  // From the top of the document, the skip link comes first and lands in the page.
  const skip = page.getByRole("link", { name: "Skip to content" });
  const first = await skip.evaluate(
    (link) => document.querySelector("a[href], button, input, select, textarea, [tabindex='0']") === link,
  );
  assert.ok(first, "the skip link is the first stop of the keyboard");
  await skip.focus();
  const box = await skip.boundingBox();
  assert.ok(box && box.x >= 0 && box.y >= 0, "it comes on screen when it has the focus");
  await page.keyboard.press("Enter");
  assert.equal(await page.evaluate(() => document.activeElement?.id), "main");
  assert.match(page.url(), /\/keys$/, "the page stays where it was");
});
