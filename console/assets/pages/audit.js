// Tamper evidence and rebuildability, as `scimd audit verify` and `scimd verify` check them:
// each instance's event log against its hash chain (intact or where it breaks, and the head
// hash to record elsewhere), and every projection rebuilt from the event log in a scratch
// store and compared with the live one, digest by digest. The rebuild reads the whole log, so
// it runs only when asked, in the background, with its progress shown.
import { announce, fill, h, message, table } from "../dom.js";

function chainResult(chain) {
  if (chain.intact) return h("span", { class: "badge ok" }, "Intact");
  const found = chain.discrepancy;
  const at = found.event
    ? `global position ${found.event.globalPosition}, ${found.event.aggregateType} ${found.event.aggregateId}/${found.event.sequence}`
    : "its chain entry is gone too";
  return [
    h("span", { class: "badge failed" }, found.kind.toUpperCase()),
    ` at chain position ${found.chainPosition} (${at}); ${chain.events} events intact before it`,
  ];
}

/** The first 16 hex digits of a digest, as `scimd verify` prints them; the whole on hover. */
function digest(hex) {
  return h("code", { title: hex }, hex.slice(0, 16));
}

export async function render(view, { api, hrefOf }) {
  const chains = h("div", {}, h("p", { class: "empty" }, "Checking every instance's hash chain…"));
  const projections = h("div", {});
  const status = h("div", { role: "status", class: "verify-status" });

  async function showChains() {
    let found;
    try {
      found = await api.get("/audit");
    } catch (error) {
      fill(chains, message("error", error.message));
      return;
    }
    const broken = found.filter((chain) => !chain.intact).length;
    fill(chains, 
      broken ? message("error", `The event log of ${broken} instance${broken === 1 ? "" : "s"} does not match its hash chain.`) : null,
      table({
        caption: `Hash chains of ${found.length} instance${found.length === 1 ? "" : "s"}`,
        empty: "No instances yet.",
        rows: found,
        rowProps: (chain) => (chain.intact ? {} : { class: "entry failed" }),
        columns: [
          { label: "Instance", cell: (chain) => h("a", { href: hrefOf(`/instances/${encodeURIComponent(chain.instance)}/history`) }, chain.instance) },
          { label: "Result", cell: chainResult },
          { label: "Events", class: "number", cell: (chain) => String(chain.events) },
          { label: "Head", cell: (chain) => (chain.head ? h("code", { class: "head" }, chain.head) : h("span", { class: "muted" }, "—")) },
        ],
      }),
    );
  }

  function showReport(report) {
    const differing = report.projections.filter((projection) => !projection.identical).map((projection) => projection.name);
    const said = differing.length
      ? `The live read models differ from a rebuild: ${differing.join(", ")}.`
      : `Every projection is identical to its rebuild from ${report.events} events (${report.seconds.toFixed(1)} s).`;
    fill(status, message(differing.length ? "error" : "success", said));
    if (!differing.length) announce(said);
    fill(projections, 
      table({
        caption: `Projections rebuilt up to global position ${report.position}`,
        rows: report.projections,
        rowProps: (projection) => (projection.identical ? {} : { class: "entry failed" }),
        columns: [
          { label: "Projection", cell: (projection) => projection.name },
          { label: "Rows", class: "number", cell: (projection) => String(projection.liveRows) },
          { label: "Live digest", cell: (projection) => digest(projection.liveDigest) },
          { label: "Rebuilt digest", cell: (projection) => digest(projection.rebuiltDigest) },
          {
            label: "Result",
            cell: (projection) =>
              projection.identical ? h("span", { class: "badge ok" }, "Identical") : h("span", { class: "badge failed" }, "Different"),
          },
        ],
      }),
    );
  }

  const STAGES = { starting: "Starting", copying: "Copying events to a scratch store", rebuilding: "Rebuilding the projections" };

  // The run goes on in scimd, however long it takes; the page asks how far it is twice a
  // second. Only its start and outcome are read out: the counts are for the eye.
  async function verify(button) {
    button.disabled = true;
    projections.setAttribute("aria-busy", "true");
    projections.replaceChildren();
    const progress = h("progress", { max: "1", value: "0", "aria-label": "Verification progress" });
    const stage = h("span", { "aria-hidden": "true" });
    fill(status, 
      h("p", { class: "busy" },
        "Verifying: rebuilding every projection from the event log in a scratch store and comparing. This reads the whole log and can take a while on a large store."),
      h("p", {}, progress, " ", stage),
    );
    try {
      let run = await api.post("/verify");
      while (run.state === "running") {
        if (run.events > 0) {
          progress.max = String(run.events);
          progress.value = String(Math.min(run.done, run.events));
        }
        stage.textContent = `${STAGES[run.stage] ?? run.stage}: ${run.done} of ${run.events} events`;
        await new Promise((resolve) => setTimeout(resolve, 500));
        run = await api.get("/verify");
      }
      if (run.state === "done") showReport(run.report);
      else fill(status, message("error", `Verification failed: ${run.error ?? run.state}`));
    } catch (error) {
      fill(status, message("error", `Verification failed: ${error.message}`));
    } finally {
      projections.removeAttribute("aria-busy");
      button.disabled = false;
    }
  }

  const verifyButton = h("button", { type: "button", onclick: () => verify(verifyButton) }, "Verify the read models");
  view.append(
    h("h1", {}, "Audit"),
    h(
      "p",
      { class: "lead" },
      "Whether the event log is as it was sealed, and whether every read model is what the log derives. Record the heads elsewhere: only a head kept outside the database shows a rewrite of events and chain together (",
      h("code", {}, "scimd audit verify --expect-head"),
      ").",
    ),
    h("section", { "aria-labelledby": "audit-chains" }, h("h2", { id: "audit-chains" }, "Event log hash chains"), chains),
    h(
      "section",
      { "aria-labelledby": "audit-verify" },
      h("h2", { id: "audit-verify" }, "Read models"),
      h("p", {}, "Rebuild every projection from the event log into a scratch store and compare it with the live one, as ", h("code", {}, "scimd verify"), " does."),
      verifyButton,
      status,
      projections,
    ),
  );
  await showChains();
}
