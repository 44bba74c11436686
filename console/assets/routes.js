// Every page of the console: its address (after `#`), its module, and, for the pages of one
// instance, its entry in the instance's navigation.
import * as signIn from "./pages/sign_in.js";
import * as instances from "./pages/instances.js";
import * as keys from "./pages/keys.js";

export const routes = [
  { path: "/sign-in", page: signIn, public: true },
  { path: "/instances", page: instances },
  { path: "/instances/:instance/keys", page: keys, nav: "API keys" },
];
