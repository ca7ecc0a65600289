// Runs one Canvas server function once, for mixpeek dev and the emulator
// (mixpeek_cli/runtime/functions.py starts it: `node runner.mjs`, one process a request).
//
// Its stdin and stdout carry one JSON message a line. In: first the start message
// {module, file, req, env}, then the answers to kv calls {id, value} or {id, error}.
// Out: {log, text} for each console call, {kv, id, ...} for each ctx.kv call, then one
// {result: {status, headers, body, kind}} or {error: {message, stack}}. Nothing else is
// written to stdout: console output goes there as messages, never as raw text.
import { createInterface } from "node:readline";
import { format } from "node:util";

const send = (message) => process.stdout.write(JSON.stringify(message) + "\n");

const levels = { log: "log", info: "info", debug: "log", trace: "log", warn: "warn", error: "error" };
for (const [method, level] of Object.entries(levels)) {
  console[method] = (...args) => send({ log: level, text: format(...args) });
}

const pending = new Map();
let lastId = 0;
let begin;
const started = new Promise((resolve) => {
  begin = resolve;
});
createInterface({ input: process.stdin, crlfDelay: Infinity }).on("line", (line) => {
  const message = JSON.parse(line);
  if (message.id === undefined) {
    begin(message);
    return;
  }
  const waiting = pending.get(message.id);
  pending.delete(message.id);
  if (waiting === undefined) return;
  if ("error" in message) waiting.reject(new Error(message.error));
  else waiting.resolve(message.value);
});

function call(op, fields) {
  const id = ++lastId;
  return new Promise((resolve, reject) => {
    pending.set(id, { resolve, reject });
    send({ kv: op, id, ...fields });
  });
}

// Values are strings; anything else is stored as its JSON text.
const kv = Object.freeze({
  get: (key) => call("get", { key: String(key) }),
  set: (key, value, ttl) =>
    call("set", {
      key: String(key),
      value: typeof value === "string" ? value : JSON.stringify(value),
      ttl: ttl ?? null,
    }).then(() => undefined),
  del: (key) => call("del", { key: String(key) }),
  keys: (prefix) => call("keys", { prefix: prefix === undefined ? "" : String(prefix) }),
});

function answer(returned) {
  const { status = 200, body, headers = {} } = returned ?? {};
  const plainHeaders = {};
  for (const [name, value] of Object.entries(headers ?? {})) plainHeaders[name] = String(value);
  if (body === undefined || body === null) return { status, headers: plainHeaders, kind: "empty", body: "" };
  if (typeof body === "string") return { status, headers: plainHeaders, kind: "text", body };
  if (body instanceof ArrayBuffer || ArrayBuffer.isView(body)) {
    const bytes = Buffer.from(body instanceof ArrayBuffer ? body : body.buffer, body.byteOffset ?? 0, body.byteLength);
    return { status, headers: plainHeaders, kind: "base64", body: bytes.toString("base64") };
  }
  return { status, headers: plainHeaders, kind: "json", body: JSON.stringify(body) };
}

const start = await started;
let outcome;
try {
  const loaded = await import(start.module);
  if (typeof loaded.default !== "function") {
    throw new Error(`${start.file} has no default export: export default async function handler(ctx)`);
  }
  const returned = await loaded.default({ req: start.req, env: start.env, kv });
  outcome = { result: answer(returned) };
} catch (error) {
  const message = error instanceof Error ? error.message : String(error);
  const stack = error instanceof Error && error.stack ? error.stack : `Error: ${message}`;
  outcome = { error: { message, stack } };
}
// A handler may leave timers or sockets behind: the answer is given, the process ends.
process.stdout.write(JSON.stringify(outcome) + "\n", () => process.exit(0));
