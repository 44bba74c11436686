// Every page of the console: its address (after `#`), its module, and, for the pages of one
// instance, its entry in the instance's navigation.
import * as signIn from "./pages/sign_in.js";
import * as instances from "./pages/instances.js";
import * as keys from "./pages/keys.js";
import * as mapping from "./pages/mapping.js";
import * as history from "./pages/history.js";
import * as provisioningLog from "./pages/provisioning_log.js";
import * as user from "./pages/user.js";

export const routes = [
  { path: "/sign-in", page: signIn, public: true },
  { path: "/instances", page: instances },
  { path: "/instances/:instance/keys", page: keys, nav: "API keys" },
  { path: "/instances/:instance/mapping", page: mapping, nav: "Attribute mapping" },
  { path: "/instances/:instance/history", page: history, nav: "Change history" },
  { path: "/instances/:instance/provisioning-log", page: provisioningLog, nav: "Provisioning log" },
  { path: "/instances/:instance/users/:id", page: user },
];
