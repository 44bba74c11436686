// Placeholder while this page is being built.
import { h } from "../dom.js";

export async function render(view) {
  view.append(h("h1", {}, "Not built yet"));
}
