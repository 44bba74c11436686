// Every page of the console: its address (after `#`), its module, and, for the pages of one
// instance, its entry in the instance's navigation.
import * as signIn from "./pages/sign_in.js";
import * as instances from "./pages/instances.js";
import * as keys from "./pages/keys.js";
import * as mapping from "./pages/mapping.js";
import * as history from "./pages/history.js";
import * as provisioningLog from "./pages/provisioning_log.js";
import * as user from "./pages/user.js";
import * as users from "./pages/users.js";
import * as group from "./pages/group.js";
import * as roles from "./pages/roles.js";
import * as audit from "./pages/audit.js";
import * as webhooks from "./pages/webhooks.js";
import * as webhook from "./pages/webhook.js";

export const routes = [
  { path: "/sign-in", page: signIn, public: true },
  { path: "/instances", page: instances },
  { path: "/audit", page: audit },
  { path: "/instances/:instance/keys", page: keys, nav: "API keys" },
  { path: "/instances/:instance/users", page: users, nav: "Users" },
  { path: "/instances/:instance/mapping", page: mapping, nav: "Attribute mapping" },
  { path: "/instances/:instance/roles", page: roles, nav: "Roles" },
  { path: "/instances/:instance/history", page: history, nav: "Change history" },
  { path: "/instances/:instance/provisioning-log", page: provisioningLog, nav: "Provisioning log" },
  { path: "/instances/:instance/webhooks", page: webhooks, nav: "Webhooks" },
  { path: "/instances/:instance/webhooks/:id", page: webhook },
  { path: "/instances/:instance/users/:id", page: user },
  { path: "/instances/:instance/groups/:id", page: group },
];
