// A webhook receiver for scimd's tests: an HTTP server on a real port that checks every delivery
// with the reference Standard Webhooks library (`standardwebhooks`, the one the specification's
// authors publish), records it, and answers as its mode says: accepts, fails with a status,
// answers slowly, never answers, or hangs up. It is started and read by
// tests/api/common/receiver.rs; it verifies, it never signs, so it cannot agree with scimd by
// sharing a mistake.
//
//   node receiver.mjs [--port N] [--log FILE] [--secret whsec_…]... [--mode MODE]
//                     [--status N] [--delay-ms N] [--fail-first N]
//
// It prints the port it listens on (127.0.0.1), alone on a line, once it listens.
//
// Modes: `accept` (200 when a secret verifies the delivery, 401 when none does), `fail` (answers
// --status, 500 by default; a 3xx with a Location back to the same URL), `slow` (answers 200 after --delay-ms), `silent` (reads the request
// and never answers, so the sender's per-attempt timeout is what ends it), `hangup` (reads the
// request and closes the connection without an answer). With --fail-first N the mode applies to
// the first N deliveries of each webhook-id only; later ones are accepted, as an endpoint that
// recovers would.
//
// Every delivery is recorded, whatever the answer: appended to --log as one JSON line before
// the answer goes out (so whatever the sender counts as delivered is in the file, even if this
// process is killed right after), and kept for GET /received. POST /control with a JSON object
// changes `secrets`, `mode`, `status`, `delayMs` or `failFirst` while it runs (a secret is known
// only once the endpoint is created, and a rotation adds one). Any other POST is a delivery.

import fs from "node:fs";
import http from "node:http";
import { parseArgs } from "node:util";
import { Webhook } from "standardwebhooks";

const MODES = new Set(["accept", "fail", "slow", "silent", "hangup"]);

const { values: args } = parseArgs({
  options: {
    port: { type: "string", default: "0" },
    log: { type: "string" },
    secret: { type: "string", multiple: true, default: [] },
    mode: { type: "string", default: "accept" },
    status: { type: "string", default: "500" },
    "delay-ms": { type: "string", default: "0" },
    "fail-first": { type: "string" },
  },
});

const config = {
  secrets: args.secret,
  mode: args.mode,
  status: Number(args.status),
  delayMs: Number(args["delay-ms"]),
  failFirst: args["fail-first"] === undefined ? null : Number(args["fail-first"]),
};
checkConfig(config);

const received = [];
const attemptsById = new Map();

function checkConfig(candidate) {
  if (!MODES.has(candidate.mode)) {
    throw new Error(`unknown mode ${candidate.mode}; one of ${[...MODES].join(", ")}`);
  }
  if (!Array.isArray(candidate.secrets) || candidate.secrets.some((s) => typeof s !== "string")) {
    throw new Error("secrets must be a list of strings");
  }
  for (const number of ["status", "delayMs"]) {
    if (!Number.isInteger(candidate[number]) || candidate[number] < 0) {
      throw new Error(`${number} must be a whole number`);
    }
  }
  if (candidate.failFirst !== null && !Number.isInteger(candidate.failFirst)) {
    throw new Error("failFirst must be a whole number or null");
  }
}

// Which of the configured secrets verify this delivery, by the reference library alone.
function verify(body, headers) {
  const verifiedBy = [];
  let error = config.secrets.length === 0 ? "no secret configured" : null;
  config.secrets.forEach((secret, index) => {
    try {
      new Webhook(secret).verify(body, headers);
      verifiedBy.push(index);
    } catch (failure) {
      error = String(failure.message || failure);
    }
  });
  return { verified: verifiedBy.length > 0, verifiedBy, error: verifiedBy.length > 0 ? null : error };
}

function header(headers, name) {
  const value = headers[name];
  return typeof value === "string" ? value : null;
}

function parsed(body) {
  try {
    const document = JSON.parse(body.toString("utf8"));
    return document && typeof document === "object" ? document : {};
  } catch {
    return {};
  }
}

function readBody(request) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    request.on("data", (chunk) => chunks.push(chunk));
    request.on("end", () => resolve(Buffer.concat(chunks)));
    request.on("error", reject);
  });
}

function send(response, status, document, headers = {}) {
  const text = JSON.stringify(document);
  response.writeHead(status, {
    "content-type": "application/json",
    "content-length": Buffer.byteLength(text),
    ...headers,
  });
  response.end(text);
}

async function deliver(request, response) {
  const receivedAt = new Date();
  const body = await readBody(request);
  const webhookId = header(request.headers, "webhook-id");
  const attempt = (attemptsById.get(webhookId) ?? 0) + 1;
  attemptsById.set(webhookId, attempt);
  const mode =
    config.failFirst !== null && attempt > config.failFirst ? "accept" : config.mode;
  const check = verify(body, request.headers);
  const document = parsed(body);
  const record = {
    webhookId,
    type: document.type ?? null,
    cursor: document.cursor ?? null,
    eventId: document.id ?? null,
    verified: check.verified,
    verifiedBy: check.verifiedBy,
    error: check.error,
    signatures: (header(request.headers, "webhook-signature") ?? "").split(" ").filter(Boolean).length,
    timestamp: header(request.headers, "webhook-timestamp"),
    attempt,
    answer: mode === "accept" ? (check.verified ? "200" : "401") : mode === "fail" ? String(config.status) : mode,
    receivedAt: receivedAt.toISOString(),
    receivedAtMs: receivedAt.getTime(),
    path: request.url,
    contentType: header(request.headers, "content-type"),
    body: body.toString("utf8"),
  };
  received.push(record);
  if (args.log) {
    fs.appendFileSync(args.log, `${JSON.stringify(record)}\n`);
  }
  switch (mode) {
    case "accept":
      return check.verified ? send(response, 200, { ok: true }) : send(response, 401, { error: check.error });
    case "fail": {
      // A redirect points back here: a sender that followed it would be answered by the
      // next try's mode, and its log would not show the redirect's status.
      const redirect = config.status >= 300 && config.status < 400;
      return send(response, config.status, { error: "failing on purpose" }, redirect ? { location: request.url } : {});
    }
    case "slow":
      return setTimeout(() => send(response, 200, { ok: true, slow: config.delayMs }), config.delayMs);
    case "silent":
      return undefined;
    case "hangup":
      return request.socket.destroy();
  }
}

async function control(request, response) {
  let change;
  try {
    change = JSON.parse((await readBody(request)).toString("utf8"));
  } catch {
    return send(response, 400, { error: "a JSON object" });
  }
  const next = { ...config, ...change };
  try {
    checkConfig(next);
  } catch (failure) {
    return send(response, 400, { error: failure.message });
  }
  Object.assign(config, next);
  return send(response, 200, config);
}

const server = http.createServer((request, response) => {
  const handled =
    request.method === "GET" && request.url === "/received"
      ? Promise.resolve(send(response, 200, received))
      : request.method === "POST" && request.url === "/control"
        ? control(request, response)
        : request.method === "POST"
          ? deliver(request, response)
          : Promise.resolve(send(response, 405, { error: "POST a delivery" }));
  handled.catch((failure) => {
    console.error(`receiver: ${failure.stack || failure}`);
    if (!response.headersSent) {
      send(response, 500, { error: "receiver failed" });
    }
  });
});
// A silent receiver must stay silent for as long as the sender waits.
server.requestTimeout = 0;
server.listen(Number(args.port), "127.0.0.1", () => {
  console.log(String(server.address().port));
});
for (const signal of ["SIGTERM", "SIGINT"]) {
  process.on(signal, () => process.exit(0));
}
