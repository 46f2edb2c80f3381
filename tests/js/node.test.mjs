// The wasm package in Node: every golden vector gives the native outcome, field for field; hostile input
// gives a PreflightError with a code and a path and never breaks the instance.

import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync, readdirSync } from "node:fs";
import { test } from "node:test";

import init, { Validator, carriers, version } from "../../pkg/node.js";
import {
  compareAll, hostileCallFailures, hostileCalls, hostileInputs, oneSkuShape, parseVector,
} from "./vectors.mjs";

const root = new URL("../../", import.meta.url);
const read = (path) => readFileSync(new URL(path, root), "utf8");

await init();

const vectors = Object.fromEntries(
  readdirSync(new URL("tests/vectors/", root))
    .filter((name) => name.endsWith(".json"))
    .sort()
    .map((name) => [name, parseVector(read(`tests/vectors/${name}`))]),
);
const native = JSON.parse(read("target/vector-reports.json"));

const settings = { region: "US", carrierMappings: [{ from: "Acme", to: "UPS" }] };
const input = {
  fulfillment: {
    id: "5012345678901234567", status: "success", tracking_company: "UPS",
    tracking_number: "1Z999AA10123456784",
    line_items: [{ id: 1, sku: "TEE", quantity: 1 }],
  },
  order: {
    id: "576461413038785752", status: "AWAITING_SHIPMENT",
    line_items: [{ id: "577086512123755101", seller_sku: "TEE" }],
  },
  history: null,
};
const NOW = "2026-11-24T12:00:00Z";

test("every golden vector gives the native outcome, field for field", () => {
  const { ran, differences } = compareAll({ Validator }, vectors, native);
  assert.ok(ran >= 80, `only ${ran} vectors ran`);
  assert.deepEqual(differences, []);
});

test("validateBatch answers the reports validate answers", () => {
  const v = new Validator(settings);
  const inputs = Array.from({ length: 50 }, (_, i) => ({
    ...input, fulfillment: { ...input.fulfillment, id: String(i), tracking_company: i % 2 ? "UPS" : "Nowhere" },
  }));
  const batch = v.validateBatch(inputs, NOW);
  assert.equal(batch.length, 50);
  assert.deepEqual(batch, inputs.map((x) => v.validate(x, NOW)));
  assert.equal(batch[0].verdict, "blocked");
  assert.equal(batch[1].verdict, "ready");
});

test("reports are plain JSON-compatible objects", () => {
  const report = new Validator(settings).validate(input, NOW);
  assert.equal(Object.getPrototypeOf(report), Object.prototype);
  assert.deepEqual(JSON.parse(JSON.stringify(report)), report);
  assert.equal(report.updateDeadline, null);
  assert.equal(report.plan.packageId, null);
});

test("now may be a string, a Date, or omitted", () => {
  const v = new Validator(settings);
  assert.equal(v.validate(input, new Date(NOW)).verdict, "ready");
  assert.equal(v.validate(input).verdict, "ready");
  for (const bad of ["2026-11-24T12:00:00", 42, new Date("nope"), {}]) {
    assert.throws(() => v.validate(input, bad), (e) => e.name === "PreflightError" && e.path === "now");
  }
});

test("hostile input throws a PreflightError with a code and a path, and the instance keeps working", () => {
  const v = new Validator(settings);
  for (const { name, input: bad, code, path } of hostileInputs(input)) {
    assert.throws(
      () => v.validate(bad, NOW),
      (e) => {
        assert.ok(e instanceof Error, name);
        assert.equal(e.name, "PreflightError", name);
        assert.equal(e.code, code, `${name}: ${e.message}`);
        assert.equal(e.path, path, `${name}: ${e.message}`);
        return true;
      },
      name,
    );
    assert.equal(v.validate(input, NOW).verdict, "ready", `after ${name}`);
  }
});

test("a JS value that throws while read never wedges the validator or traps the module", () => {
  const answer = hostileCalls({ Validator, carriers }, settings, input, NOW);
  assert.deepEqual(hostileCallFailures(answer), []);
});

test("a string shaped like the boundary's BigInt mark is the caller's string", () => {
  const v = new Validator(settings);
  const forged = "\u0000js:bigint:abc def";
  for (const id of [forged, new String(forged), "\u0000\u0000x", "\u0000"]) {
    const report = v.validate({ ...input, fulfillment: { ...input.fulfillment, id } }, NOW);
    assert.equal(report.fulfillmentId, String(id));
  }
  const marked = { ...input, fulfillment: { ...input.fulfillment, id: 7n, tracking_company: "\u0000x" } };
  assert.equal(v.validate(marked, NOW).fulfillmentId, "7");
});

test("a String wrapper reads as its toString, whatever else the input holds", () => {
  const v = new Validator(settings);
  class Lying extends String { toString() { return "LIE"; } }
  for (const carrier of ["UPS", "\u0000x"]) {
    const lying = { ...input, fulfillment: { ...input.fulfillment, id: new Lying("X"), tracking_company: carrier } };
    assert.equal(v.validate(lying, NOW).fulfillmentId, "LIE", carrier);
  }
});

test("JSON past 16 Mi characters is input.too_large, never a trap: a batch of 10 million", () => {
  const v = new Validator(settings);
  assert.throws(() => v.validateBatch(new Array(10_000_000), NOW), (e) => e.code === "input.too_large" && e.path === "inputs");
  assert.equal(v.validate(input, NOW).verdict, "ready");
  v.free();
});

test("24,000 items of one SKU against 24,000 units give a report, not a trap", () => {
  const v = new Validator(settings);
  const report = v.validate(oneSkuShape(24_000), NOW);
  assert.equal(report.verdict, "ready");
  assert.equal(report.plan.lineItemIds.length, 24_000);
  assert.equal(v.validate(input, NOW).verdict, "ready");
});

// The imports each module calls without catching what they throw (wasm-bindgen's `handleError`). An
// exception that crosses into the module unwinds past Rust frames that never finish: the Validator stays
// borrowed and the stack pointer moved, and about 1,200 of them trap every later call. So each import
// here must be one that cannot throw on what the module hands it; any other must be declared `catch`.
const UNCAUGHT = {
  engine: [
    // typeof checks and copies of primitives
    "__wbg___wbindgen_is_undefined", "__wbg___wbindgen_number_get", "__wbg___wbindgen_string_get",
    "__wbindgen_generic", "__wbindgen_init_externref_table",
    // wasm-bindgen's own error for misuse (a freed object), thrown before any Rust frame starts
    "__wbg___wbindgen_throw",
    // console.error from the panic hook (the module aborts then anyway)
    "__wbg_error",
    // the fields of the boundary's own failure object
    "__wbg_failed", "__wbg_message", "__wbg_path",
  ],
};
UNCAUGHT.widget = [
  ...UNCAUGHT.engine,
  // typeof checks, conversions of primitives (serde-wasm-bindgen reads only primitives of the caller's)
  "__wbg___wbindgen_boolean_get", "__wbg___wbindgen_debug_string", "__wbg___wbindgen_is_function",
  "__wbg___wbindgen_is_null", "__wbg___wbindgen_is_object", "__wbg___wbindgen_jsval_loose_eq",
  "__wbg_Error", "__wbg_Number", "__wbg_String", "__wbg_isSafeInteger", "__wbg_toString", "__wbg_new",
  "__wbg_encodeURIComponent", "__wbg_prototypesetcall", "__wbg_random", "__wbg_now",
  // wasm-bindgen's instanceof checks, which catch (a throwing Proxy trap reads as "not an instance")
  "__wbg_instanceof_ArrayBuffer", "__wbg_instanceof_Element", "__wbg_instanceof_Error",
  "__wbg_instanceof_HtmlElement", "__wbg_instanceof_HtmlInputElement", "__wbg_instanceof_Response",
  "__wbg_instanceof_Uint8Array", "__wbg_instanceof_Window",
  // the globals, timers, microtasks and native promises (the caller's own promise goes through
  // `settle` in the boundary first)
  "__wbg_static_accessor_GLOBAL", "__wbg_static_accessor_GLOBAL_THIS", "__wbg_static_accessor_SELF",
  "__wbg_static_accessor_WINDOW", "__wbg_performance", "__wbg_clearInterval", "__wbg_clearTimeout",
  "__wbg_queueMicrotask", "__wbg_resolve", "__wbg_reject", "__wbg_then", "__wbg__wbg_cb_unref",
  // the window's document, and whether it is hidden
  "__wbg_document", "__wbg_hidden",
  // fetch and its request, response and abort signal, all the browser's own objects
  "__wbg_fetch", "__wbg_abort", "__wbg_aborted", "__wbg_signal", "__wbg_set_signal", "__wbg_set_body",
  "__wbg_set_headers", "__wbg_set_method", "__wbg_status", "__wbg_url", "__wbg_search",
  "__wbg_set_search", "__wbg_name",
  // the DOM nodes the widget made (and events on them)
  "__wbg_activeElement", "__wbg_className", "__wbg_set_className", "__wbg_close", "__wbg_contains",
  "__wbg_createDocumentFragment", "__wbg_firstElementChild", "__wbg_nextElementSibling",
  "__wbg_parentElement", "__wbg_getAttribute", "__wbg_getElementsByTagName", "__wbg_isConnected",
  "__wbg_item", "__wbg_length", "__wbg_remove", "__wbg_set_textContent", "__wbg_set_value",
  "__wbg_value", "__wbg_target", "__wbg_set_capture", "__wbg_set_once", "__wbg_set_passive",
];

test("every import that could throw on a caller's value is caught", () => {
  const seen = [];
  for (const [name, file] of [["engine", "pkg/preflight.js"], ["widget", "pkg/widget/preflight_widget.js"]]) {
    const glue = read(file);
    const imports = [...glue.matchAll(/^\s+(__wbg\w+|__wbindgen\w+): function\([^)]*\) \{( return handleError\()?/gm)];
    assert.ok(imports.length > 10, `${file}: no imports found (has the glue's shape changed?)`);
    const uncaught = new Set(imports.filter((m) => !m[2]).map((m) => m[1].replace(/_[0-9a-f]{16}$/, "")));
    assert.deepEqual([...uncaught].filter((i) => !UNCAUGHT[name].includes(i)).sort(), [], `${name}: uncaught imports`);
    seen.push(...uncaught);
  }
  assert.deepEqual(UNCAUGHT.widget.filter((i) => !seen.includes(i)), [], "listed imports no module has");
});

test("ids past 2^53 are exact as strings or BigInts, and refused as rounded numbers", () => {
  const v = new Validator(settings);
  const exact = v.validate({ ...input, fulfillment: { ...input.fulfillment, id: 5012345678901234567n } }, NOW);
  assert.equal(exact.fulfillmentId, "5012345678901234567");
  assert.equal(v.validate(input, NOW).fulfillmentId, "5012345678901234567");
  assert.throws(
    () => v.validate({ ...input, fulfillment: { ...input.fulfillment, id: 5012345678901234567 } }, NOW),
    (e) => e.code === "input.imprecise_id" && e.path === "fulfillment.id",
  );
});

test("a 50 MB array is an error or a report, never a crash", () => {
  const v = new Validator(settings);
  const huge = new Array(50 * 1024 * 1024 / 8).fill(0);
  assert.throws(() => v.validateBatch(huge, NOW), (e) => e.code === "input.invalid_type" && e.path === "inputs[0]");
  const many = { ...input, fulfillment: { ...input.fulfillment, line_items: huge } };
  assert.throws(() => v.validate(many, NOW), (e) => e.path === "fulfillment.line_items[0]");
  assert.equal(v.validate(input, NOW).verdict, "ready");
});

test("bad settings and mappings throw with the field's path; the validator is unchanged", () => {
  assert.throws(() => new Validator({ region: "XX" }), (e) => e.code === "input.unknown_region" && e.path === "region");
  assert.throws(() => new Validator({ region: "US", carrierMapping: [] }), (e) => e.code === "input.unknown_field");
  assert.throws(() => new Validator(undefined), (e) => e.code === "input.invalid_type");
  const v = new Validator(settings);
  const acme = { ...input, fulfillment: { ...input.fulfillment, tracking_company: "Acme" } };
  assert.equal(v.validate(acme, NOW).plan.shippingProviderName, "UPS");
  assert.throws(() => v.setCarrierMappings([{ from: "Acme", to: "Nowhere" }]),
    (e) => e.code === "input.unknown_provider" && e.path === "carrierMappings[0].to");
  assert.equal(v.validate(acme, NOW).plan.shippingProviderName, "UPS");
  v.setCarrierMappings([{ from: "Acme", to: "FedEx" }]);
  assert.equal(v.validate(acme, NOW).plan.shippingProviderName, "FedEx");
});

test("carriers lists a region's providers; version is the package's", () => {
  const us = carriers("US");
  assert.ok(us.some((c) => c.name === "USPS" && c.id === "7117858858072016686" && Array.isArray(c.aliases)));
  assert.ok(carriers("UK").some((c) => c.name === "Royal Mail"));
  assert.throws(() => carriers("XX"), (e) => e.code === "input.unknown_region" && e.path === "region");
  assert.equal(version(), JSON.parse(read("pkg/package.json")).version);
});

test("npm pack lists a clean package: the module, its types, the wasm, the widget and the manifest", () => {
  const out = execFileSync("npm", ["pack", "--dry-run", "--json"], { cwd: new URL("pkg/", root), encoding: "utf8" });
  const files = JSON.parse(out)[0].files.map((f) => f.path).sort();
  // The JS boundaries beside each module: the engine's (src/wasm/boundary.js), and the widget's own.
  const snippet = /^(widget\/)?snippets\/[^/]+\/src\/(wasm\/)?boundary\.js$/;
  assert.deepEqual(files.filter((f) => !snippet.test(f)), [
    "node.d.ts", "node.js", "package.json", "preflight.d.ts", "preflight.js", "preflight_bg.wasm",
    "preflight_bg.wasm.d.ts", "widget/element.d.ts", "widget/element.js", "widget/preflight.css",
    "widget/preflight_widget.d.ts", "widget/preflight_widget.js", "widget/preflight_widget_bg.wasm",
    "widget/preflight_widget_bg.wasm.d.ts",
  ]);
  assert.equal(files.filter((f) => f.startsWith("snippets/")).length, 1);
  assert.equal(files.filter((f) => f.startsWith("widget/snippets/")).length, 2);
  const manifest = JSON.parse(read("pkg/package.json"));
  assert.equal(manifest.name, "fulfillment-preflight");
  assert.equal(manifest.type, "module");
  // Only the custom element's module (it defines the element) and the stylesheet have side effects.
  assert.deepEqual(manifest.sideEffects, ["./widget/element.js", "*.css"]);
  assert.equal(manifest.exports["."].node.default, "./node.js");
  assert.equal(manifest.exports["./widget"].default, "./widget/element.js");
  // The element imports the widget's module from beside it.
  assert.match(read("pkg/widget/element.js"), /from "\.\/preflight_widget\.js"/);
});
