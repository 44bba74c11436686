// The attribute mapping editor, as an administrator uses it: locked rows, change, delete, add
// with custom text fields, refusals shown with scimd's reason, restore defaults, apply.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import {
  BASE_URL,
  adminApi,
  instanceWithKey,
  openBrowser,
  scim,
  scimUser,
  screenshot,
  signIn,
  uniqueName,
} from "./harness.mjs";

let browser;
before(async () => {
  browser = await openBrowser();
});
after(async () => {
  await browser?.close();
});

const mappingsOf = (instance) => adminApi("GET", `/instances/${encodeURIComponent(instance)}/mappings`);

async function openMapping(page, instance) {
  await page.goto(`${BASE_URL}/admin/#/instances/${encodeURIComponent(instance)}/mapping`);
  await page.getByRole("heading", { name: `Attribute mapping of ${instance}`, level: 1 }).waitFor();
  // The rows load after the heading.
  await mappingRow(page, "User Name").waitFor();
}

/** The table row of one application field (field names differ from their attribute paths). */
function mappingRow(page, target) {
  return page.getByRole("row").filter({ hasText: target });
}

/** The page's success messages (screen readers hear them through the announcer). */
function said(page) {
  return page.locator("main .message.success");
}

function attributeOf(mappings, target) {
  return mappings.mapping.find((row) => row.field === target)?.attribute;
}

/** Accepts the next confirm dialog, checking that it is one and says what it is about. */
function acceptConfirm(page, about) {
  page.once("dialog", async (dialog) => {
    assert.equal(dialog.type(), "confirm");
    assert.match(dialog.message(), about);
    await dialog.accept();
  });
}

test("User Name is locked; a row is changed, an edit cancelled, a row deleted, and the defaults restored", async () => {
  const { page, problems } = browser;
  const { instance } = await instanceWithKey("mapping-edit");
  const defaults = await mappingsOf(instance);
  await signIn(page);
  problems.length = 0;
  await openMapping(page, instance);

  const userName = mappingRow(page, "User Name");
  await userName.getByText("Read-only").waitFor();
  assert.equal(await userName.getAttribute("class"), "locked");
  assert.equal(await userName.getByRole("button").count(), 0, "no change or delete on a read-only row");
  assert.match(await userName.textContent(), /identifies the account and is always filled from userName/);

  // Change Display Name's source.
  const displayName = mappingRow(page, "Display Name");
  await displayName.getByRole("button", { name: "Change the attribute of Display Name" }).click();
  await page.getByLabel("SCIM attribute for Display Name").fill("nickName");
  await displayName.getByRole("button", { name: "Save the attribute of Display Name" }).click();
  await said(page).filter({ hasText: "Display Name is now filled from nickName." }).waitFor();
  await displayName.getByText("nickName", { exact: true }).waitFor();
  assert.equal(attributeOf(await mappingsOf(instance), "Display Name"), "nickName");

  // Escape leaves an edit without saving it.
  const email = mappingRow(page, "Email");
  await email.getByRole("button", { name: "Change the attribute of Email" }).click();
  const emailInput = page.getByLabel("SCIM attribute for Email");
  await emailInput.fill("title");
  await emailInput.press("Escape");
  await email.getByRole("button", { name: "Change the attribute of Email" }).waitFor();
  assert.equal(await page.getByLabel("SCIM attribute for Email").count(), 0);
  assert.equal(attributeOf(await mappingsOf(instance), "Email"), attributeOf(defaults, "Email"));

  // Delete a row: it leaves the table and becomes a free target for a new mapping.
  const officePhone = mappingRow(page, "Office Phone");
  acceptConfirm(page, /Office Phone/);
  await officePhone.getByRole("button", { name: "Delete the mapping of Office Phone" }).click();
  await said(page).filter({ hasText: "The mapping of Office Phone is deleted." }).waitFor();
  await officePhone.waitFor({ state: "detached" });
  assert.equal(attributeOf(await mappingsOf(instance), "Office Phone"), undefined);
  const targets = await page.getByLabel("Application field").locator("option").allTextContents();
  assert.deepEqual(targets, ["Office Phone"], "only the unmapped text field is offered");

  // Restore defaults: the edit and the deletion are undone, in the API and in the table.
  acceptConfirm(page, /default mapping/);
  await page.getByRole("button", { name: "Restore defaults" }).click();
  await said(page).filter({ hasText: "The default mapping is restored." }).waitFor();
  assert.deepEqual(await mappingsOf(instance), defaults);
  await displayName.getByText("displayName", { exact: true }).waitFor();
  assert.equal(await displayName.getByText("nickName", { exact: true }).count(), 0);
  await officePhone.waitFor();
  assert.equal(await page.getByLabel("Application field").isDisabled(), true, "every text field is mapped again");

  assert.deepEqual(problems, [], "no script error and no Content-Security-Policy refusal");
});

test("a custom Country field is mapped from the work address and fills the application directory", async () => {
  const { page, problems } = browser;
  const { instance, key } = await instanceWithKey("mapping-country");
  const before = uniqueName("ada") + "@corp.example";
  const work = { addresses: [{ type: "work", country: "NL", locality: "Utrecht" }] };
  const early = await scim(key, "POST", "/Users", scimUser(before, work));
  assert.equal(early.status, 201);
  await signIn(page);
  problems.length = 0;
  await openMapping(page, instance);

  await page.getByLabel("Field name").fill("Country");
  await page.getByRole("button", { name: "Add text field" }).click();
  await said(page).filter({ hasText: "Text field Country added" }).waitFor();
  assert.deepEqual((await mappingsOf(instance)).customFields, ["Country"]);
  await page.getByText("Custom text fields: Country.").waitFor();

  await page.getByLabel("Application field").selectOption("Country");
  await page.getByLabel("SCIM attribute", { exact: true }).fill('addresses[type eq "work"].country');
  await page.getByRole("button", { name: "Add mapping" }).click();
  await said(page).filter({ hasText: "Country is now filled from" }).waitFor();
  const country = mappingRow(page, "Country");
  await country.getByText('addresses[type eq "work"].country').waitFor();
  await country.getByText("Custom").waitFor();
  assert.equal(attributeOf(await mappingsOf(instance), "Country"), 'addresses[type eq "work"].country');

  // A user provisioned from now on gets the field.
  const after = uniqueName("grace") + "@corp.example";
  const created = await scim(key, "POST", "/Users", scimUser(after, work));
  assert.equal(created.status, 201);
  const directory = (name) =>
    adminApi("GET", `/instances/${encodeURIComponent(instance)}/directory/${encodeURIComponent(name)}`);
  assert.equal((await directory(after)).fields.Country, "NL");

  // The one provisioned before gets it when the mapping is applied to existing users.
  assert.equal((await directory(before)).fields.Country, undefined);
  await page.getByRole("button", { name: "Apply to existing users" }).click();
  await page.locator("main").getByText("1 user change, of 2 users checked. Nothing has been written yet.").waitFor();
  await page.getByRole("button", { name: "Apply to 1 user" }).click();
  await said(page).filter({ hasText: "Mapping applied: 2 users checked, 1 changed." }).waitFor();
  assert.equal((await directory(before)).fields.Country, "NL");
  await screenshot(page, "mapping");

  assert.deepEqual(problems, [], "no script error and no Content-Security-Policy refusal");
});

test("a complex source attribute is refused with scimd's reason and the mapping stays as it was", async () => {
  const { page } = browser;
  const { instance } = await instanceWithKey("mapping-refused");
  const unchanged = await mappingsOf(instance);
  await signIn(page);
  await openMapping(page, instance);
  await page.getByRole("note").filter({ hasText: "Only text fields can be mapping targets." }).waitFor();

  const displayName = mappingRow(page, "Display Name");
  await displayName.getByRole("button", { name: "Change the attribute of Display Name" }).click();
  await page.getByLabel("SCIM attribute for Display Name").fill("name");
  await page.getByLabel("SCIM attribute for Display Name").press("Enter");
  const alert = page.getByRole("alert");
  await alert.waitFor();
  assert.match(await alert.textContent(), /"name" cannot fill a text field: it names a complex attribute/);
  assert.deepEqual(await mappingsOf(instance), unchanged);
  await page.getByRole("button", { name: "Cancel changing Display Name" }).click();
  await displayName.getByText("displayName", { exact: true }).waitFor();

  // The same through Add new mapping, onto a fresh custom field.
  await page.getByLabel("Field name").fill("Department");
  await page.getByRole("button", { name: "Add text field" }).click();
  await said(page).filter({ hasText: "Text field Department added" }).waitFor();
  await page.getByLabel("SCIM attribute", { exact: true }).fill("addresses");
  await page.getByRole("button", { name: "Add mapping" }).click();
  await page.getByRole("alert").filter({ hasText: /"addresses" cannot fill a text field: it names a complex attribute/ }).waitFor();
  assert.deepEqual((await mappingsOf(instance)).mapping, unchanged.mapping);
  assert.equal(await mappingRow(page, "Department").count(), 0);
});

test("every suggested SCIM attribute is one scimd accepts as a mapping source", async () => {
  const { page } = browser;
  const { instance } = await instanceWithKey("mapping-suggestions");
  await signIn(page);
  await openMapping(page, instance);
  const suggested = await page.locator("datalist option").evaluateAll((options) => options.map((o) => o.value));
  assert.ok(suggested.includes('addresses[type eq "work"].country'));
  assert.ok(suggested.includes("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department"));
  const path = `/instances/${encodeURIComponent(instance)}`;
  await adminApi("POST", `${path}/fields`, { name: "Probe" });
  for (const attribute of suggested) {
    await adminApi("PUT", `${path}/mappings/Probe`, { attribute });
  }
});
