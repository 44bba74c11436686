// The users page: users found by the start of a userName, display name or email address in any
// case, paged, each leading to its user page; a partial name in the history's user finder
// leads here instead of to a dead end.
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

/** The userNames the page's table lists, in order. */
async function listed(page) {
  return page.locator("main table tbody tr td:first-child").allTextContents();
}

test("users are found by the start of a userName, display name or email, in any case, and open their page", async () => {
  const { page, problems } = browser;
  const { instance, key } = await instanceWithKey("users");
  // userNames are unique across the server's instances: each test's own, with an ending.
  const suffix = uniqueName("");
  const name = (start) => `${start}${suffix}`;
  const make = async (userName, displayName, email) => {
    const created = await scim(key, "POST", "/Users", scimUser(name(userName), { displayName, emails: [{ value: email, type: "work" }] }));
    assert.equal(created.status, 201);
    return created;
  };
  const ada = await make("ada.l", "Countess Lovelace", "al@example.com");
  await make("grace", "Ada Hopper", "grace@example.com");
  await make("linus", "Linus", "ADAM@corp.example");
  await make("bob", "Bob", "bob@example.com");
  await signIn(page);
  problems.length = 0;

  await page.goto(`${BASE_URL}/admin/#/instances/${encodeURIComponent(instance)}/users`);
  await page.getByRole("heading", { name: `Users of ${instance}`, level: 1 }).waitFor();
  await page.getByRole("link", { name: "Users", exact: true }).and(page.locator("[aria-current=page]")).waitFor();
  await page.getByRole("link", { name: name("bob") }).waitFor();
  assert.deepEqual(await listed(page), ["ada.l", "bob", "grace", "linus"].map(name));

  await page.getByLabel("Find users").fill("ADA");
  await page.getByRole("button", { name: "Search" }).click();
  await page.getByRole("heading", { name: "Users found" }).waitFor();
  await page.locator("caption", { hasText: "starting with “ADA”" }).waitFor();
  assert.deepEqual(await listed(page), ["ada.l", "grace", "linus"].map(name));
  assert.match(page.url(), /users\?q=ADA$/, "the search is in the address, to share");
  await screenshot(page, "users");

  await page.getByLabel("Find users").fill("al@EX");
  await page.getByRole("button", { name: "Search" }).click();
  await page.locator("caption", { hasText: "starting with “al@EX”" }).waitFor();
  assert.deepEqual(await listed(page), [name("ada.l")]);
  await page.getByRole("link", { name: name("ada.l") }).click();
  await page.getByRole("heading", { name: `User ${name("ada.l")}`, level: 1 }).waitFor();
  assert.match(page.url(), new RegExp(`/users/${ada.body.id}$`));

  await page.goto(`${BASE_URL}/admin/#/instances/${encodeURIComponent(instance)}/users?q=zed`);
  await page.getByText("No user's userName, display name or email address starts with “zed”.").waitFor();
  assert.deepEqual(problems, [], "no script error and no Content-Security-Policy refusal");
});

test("a partial name in the history's user finder leads to the users it starts", async () => {
  const { page } = browser;
  const { instance, key } = await instanceWithKey("finder");
  const userName = uniqueName("ada.lovelace");
  assert.equal((await scim(key, "POST", "/Users", scimUser(userName))).status, 201);
  await signIn(page);
  await page.goto(`${BASE_URL}/admin/#/instances/${encodeURIComponent(instance)}/history`);
  await page.getByLabel("Find a user by userName").fill("ADA.love");
  await page.getByRole("button", { name: "Open user" }).click();
  await page.getByRole("heading", { name: `Users of ${instance}`, level: 1 }).waitFor();
  await page.getByRole("link", { name: userName }).click();
  await page.getByRole("heading", { name: `User ${userName}`, level: 1 }).waitFor();
});

test("a long list of users pages 50 at a time in userName order", async () => {
  const { page } = browser;
  const { instance, key } = await instanceWithKey("many-users");
  const start = uniqueName("page");
  const names = Array.from({ length: 53 }, (_, n) => `${start}-${String(n).padStart(2, "0")}@example.com`);
  for (const name of names) assert.equal((await scim(key, "POST", "/Users", scimUser(name))).status, 201);
  await signIn(page);
  await page.goto(`${BASE_URL}/admin/#/instances/${encodeURIComponent(instance)}/users?q=${start}`);
  await page.locator("caption", { hasText: "Users 1–50" }).waitFor();
  assert.deepEqual(await listed(page), names.slice(0, 50));
  await page.getByRole("button", { name: "Next page" }).click();
  await page.locator("caption", { hasText: "Users 51–53" }).waitFor();
  assert.deepEqual(await listed(page), names.slice(50));
  assert.equal(await page.getByRole("button", { name: "Next page" }).isDisabled(), true);
  await page.getByRole("button", { name: "Previous page" }).click();
  await page.locator("caption", { hasText: "Users 1–50" }).waitFor();
});
