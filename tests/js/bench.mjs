// The wasm package's benchmark: `cd tests/js && node bench.mjs` (run by `cargo xtask bench` after it
// builds `pkg/`). It prints one table and, last, one JSON line with every figure:
//
// 1. the size of `pkg/preflight_bg.wasm`, raw and gzip -9;
// 2. the cold start, `init()` to the first report, in fresh Node processes and fresh Chromium pages;
// 3. µs per validation of `validate` (the typical input) and `validateBatch` (10,000 mixed), JS objects in
//    and out, in Node and in headless Chromium;
// 4. the same batch natively (`examples/native_batch.rs`) and the wasm/native ratios;
// 5. the targets, pass or fail;
// 6. the largest line-item shapes (`examples/line_item_shapes.rs`) at n and 2n lines in Node, ms per
//    validate: matching is linear, so 2n takes about twice n (benches/validate.rs times them natively);
// and where the batch time goes: reading the JS inputs alone, building JS values alone, and the JS halves
// of a JSON-string boundary on the same data.
//
// Every loop is bounded (fixed rounds of bounded calls); the server listens on loopback only.

import { execFileSync, spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";

import init, { Validator, carriers } from "../../pkg/node.js";
import { BATCH_SIZE, NOW, SETTINGS, mixedBatch, throughput, typical } from "./bench-inputs.mjs";

const root = fileURLToPath(new URL("../../", import.meta.url));
const COLD_RUNS = 7;
const TARGETS = {
  rawBytes: 150_000,
  gzipBytes: 60_000,
  initMs: 20,
  chromiumBatchUs: 5,
  ratio: 3,
};

// A fresh Node process's cold start: run by the parent as `node bench.mjs --cold-init`.
if (process.argv.includes("--cold-init")) {
  const input = typical();
  const start = performance.now();
  await init();
  const loaded = performance.now();
  const validator = new Validator(SETTINGS);
  const built = performance.now();
  const report = validator.validate(input, NOW);
  const end = performance.now();
  // performance.now() counts from the process's start.
  console.log(JSON.stringify({
    initMs: end - start, loadMs: loaded - start, newMs: built - loaded, firstMs: end - built,
    sinceStartMs: end, verdict: report.verdict,
  }));
  process.exit(0);
}

const progress = (what) => process.stderr.write(`bench: ${what}\n`);

function stats(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return { best: sorted[0], median: sorted[Math.floor(sorted.length / 2)], all: values };
}

// 1. Size.
const wasmBytes = readFileSync(`${root}pkg/preflight_bg.wasm`);
const size = {
  raw: wasmBytes.length,
  gzip: gzipSync(wasmBytes, { level: 9 }).length,
  built: statSync(`${root}pkg/preflight_bg.wasm`).mtime.toISOString(),
};

// 4 (first, while nothing else runs). The same batch natively.
progress("native batch (cargo run --release --example native_batch)");
mkdirSync(`${root}target/bench`, { recursive: true });
writeFileSync(
  `${root}target/bench/batch.json`,
  JSON.stringify({ settings: SETTINGS, now: NOW, inputs: mixedBatch(), typical: typical() }),
);
const native = JSON.parse(
  execFileSync(
    "cargo",
    ["run", "--release", "--quiet", "--example", "native_batch", "--", "../../target/bench/batch.json"],
    {
      cwd: fileURLToPath(new URL(".", import.meta.url)),
      encoding: "utf8",
      timeout: 300_000,
      stdio: ["ignore", "pipe", "inherit"],
    },
  ).trim().split("\n").at(-1),
);

// 2. Node cold starts, each in a fresh process.
progress(`Node cold start x${COLD_RUNS}`);
const nodeCold = [];
for (let i = 0; i < COLD_RUNS; i++) {
  const child = spawnSync(process.execPath, [fileURLToPath(import.meta.url), "--cold-init"], {
    encoding: "utf8",
    timeout: 30_000,
  });
  if (child.status !== 0) throw new Error(`cold start child failed: ${child.stderr}`);
  nodeCold.push(JSON.parse(child.stdout.trim()));
}

// 3. Node throughput.
progress("Node throughput");
await init();
const nodeRun = throughput({ Validator, carriers }, { log: (w) => progress(`  Node: ${w}`) });

// 6. The largest line-item shapes, n and 2n lines, in Node.
const SHAPE_LINES = 50_000;
progress(`line-item shapes at ${SHAPE_LINES} and ${2 * SHAPE_LINES} lines (cargo run --release --example line_item_shapes)`);
execFileSync(
  "cargo",
  ["run", "--release", "--quiet", "--example", "line_item_shapes", "--", "target/bench/shapes.json", String(SHAPE_LINES)],
  { cwd: root, timeout: 300_000, stdio: ["ignore", "ignore", "inherit"] },
);
const shapeValidator = new Validator(SETTINGS);
const shapes = JSON.parse(readFileSync(`${root}target/bench/shapes.json`, "utf8")).map(({ shape, lines, input }) => {
  shapeValidator.validate(input, NOW);
  const ms = [];
  for (let i = 0; i < 5; i++) {
    const start = performance.now();
    shapeValidator.validate(input, NOW);
    ms.push(performance.now() - start);
  }
  return { shape, lines, ms: stats(ms) };
});

// 2 and 3 in Chromium.
const { launch, runPage, serve } = await import("./serve.mjs");
const server = await serve();
let browser;
let chromeCold;
let chromeRun;
let chromeVersion;
try {
  browser = await launch();
  chromeVersion = browser.version();
  progress(`Chromium cold start x${COLD_RUNS} (fresh page and context each)`);
  chromeCold = [];
  // One load first, not counted: the browser's own first-page costs (a renderer to spawn) are not init's.
  await runPage(browser, server.url, "tests/js/bench.html?mode=init", 60_000);
  for (let i = 0; i < COLD_RUNS; i++) {
    const { results, errors } = await runPage(browser, server.url, "tests/js/bench.html?mode=init", 60_000);
    if (results.failure || errors.length) throw new Error(`page failed: ${results.failure ?? errors.join("; ")}`);
    chromeCold.push(results);
  }
  progress("Chromium throughput");
  const { results, errors } = await runPage(browser, server.url, "tests/js/bench.html?mode=throughput", 150_000);
  if (results.failure || errors.length) throw new Error(`page failed: ${results.failure ?? errors.join("; ")}`);
  chromeRun = results;
} finally {
  await browser?.close();
  await server.close();
}

// The figures.
const coldNode = stats(nodeCold.map((r) => r.initMs));
const coldChrome = stats(chromeCold.map((r) => r.initMs));
const nativeTyped = native.typedNsPerValidation / 1000;
const nativeJson = native.jsonNsPerValidation / 1000;
const ratio = (run) => ({
  typed: { best: run.batch.best / nativeTyped, median: run.batch.median / nativeTyped },
  json: { best: run.batch.best / nativeJson, median: run.batch.median / nativeJson },
});
const ratios = { node: ratio(nodeRun), chromium: ratio(chromeRun) };
const sameVerdicts = (run) =>
  ["ready", "blocked", "in_sync"].every((v) => run.verdicts[v] === native.verdicts[v]);

/** Where the batch time goes in one runtime, µs per validation (best of rounds). */
function breakdown(run) {
  const total = run.batch.best;
  const read = run.read.best;
  const buildEstimate = (run.carriers.nsPerValue * run.perReport.values) / 1000;
  const j = run.js;
  const jsonJsSide = j.stringifyInputs.best + j.encodeIntoReusable.best + j.decodeReports.best + j.parseReports.best;
  return {
    total,
    read,
    rest: total - read,
    buildEstimate,
    readShare: read / total,
    beyondNativeShare: (total - nativeTyped) / total,
    jsonJsSide,
    jsonLowerBound: jsonJsSide + nativeJson,
  };
}
const split = { node: breakdown(nodeRun), chromium: breakdown(chromeRun) };

const checks = {
  raw: size.raw <= TARGETS.rawBytes,
  gzip: size.gzip <= TARGETS.gzipBytes,
  initNode: coldNode.median < TARGETS.initMs,
  initChromium: coldChrome.median < TARGETS.initMs,
  chromiumBatch: chromeRun.batch.median <= TARGETS.chromiumBatchUs,
  ratioNode: ratios.node.typed.median <= TARGETS.ratio,
  ratioChromium: ratios.chromium.typed.median <= TARGETS.ratio,
};

// The table.
const pf = (ok) => (ok ? "pass" : "FAIL");
const n1 = (x) => (!Number.isFinite(x) ? "-" : x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2));
const bm = (s) => `${n1(s.best)} / ${n1(s.median)}`;
const int = (x) => Math.round(x).toLocaleString("en-US");
const pct = (x) => `${(100 * x).toFixed(0)}%`;
const row = (label, ...cells) => `  ${label.padEnd(52)}${cells.map((c) => String(c ?? "").padStart(15)).join("")}`;
const rowT = (label, node, chrome, nat, target) => `${row(label, node, chrome, nat)}   ${target ?? ""}`.trimEnd();
const part = (runs, key) => stats(runs.map((r) => r[key]));
const coldLoadNode = stats(nodeCold.map((r) => r.loadMs));
const coldLoadChrome = stats(chromeCold.map((r) => r.loadMs));
const fetchChrome = stats(chromeCold.map((r) => r.wasmFetchMs ?? NaN));

const out = [];
out.push("");
out.push(`fulfillment-preflight wasm benchmark: Node ${process.version}, Chromium ${chromeVersion}, ${cpus().length} cores;`);
out.push(`batch = ${BATCH_SIZE.toLocaleString("en-US")} mixed fulfillments and typical = one 3-item update, the shapes of benches/validate.rs`);
out.push("");
out.push(`${`  Package (pkg/ built ${size.built})`.padEnd(54)}${"bytes".padStart(15)}   target`);
out.push(`${row("pkg/preflight_bg.wasm, raw", int(size.raw))}   ≤ 150 KB (150,000 B): ${pf(checks.raw)}`);
out.push(`${row("pkg/preflight_bg.wasm, gzip -9 (node:zlib)", int(size.gzip))}   ≤ 60 KB (60,000 B): ${pf(checks.gzip)}`);
out.push("");
out.push(rowT("Cold start, ms (best / median of 7)", "Node", "Chromium", "", "target (on the median)"));
out.push(rowT(
  "init() → first report",
  bm(coldNode), bm(coldChrome), "",
  `< 20 ms: Node ${pf(checks.initNode)}, Chromium ${pf(checks.initChromium)}`,
));
out.push(rowT("  of which await init() (read/fetch, compile, start)", bm(coldLoadNode), bm(coldLoadChrome), ""));
out.push(rowT("    of which the .wasm fetch (resource timing)", "", bm(fetchChrome), ""));
out.push(rowT("  of which new Validator(settings)", bm(part(nodeCold, "newMs")), bm(part(chromeCold, "newMs")), ""));
out.push(rowT("  of which the first validate", bm(part(nodeCold, "firstMs")), bm(part(chromeCold, "firstMs")), ""));
out.push("  Node: a fresh process each time, init() reading the .wasm from disk. Chromium: a fresh page and browser");
out.push("  context each time (after one uncounted load), measured inside the page with performance.now() around");
out.push("  `await init()` + the first validate, the .wasm fetched from the loopback server (no-store: no code cache).");
out.push("");
out.push(rowT("Speed, µs per validation (best / median)", "Node", "Chromium", "native typed", "target (on the median)"));
out.push(rowT("validate(typical), JS object in and out", bm(nodeRun.validate), bm(chromeRun.validate), n1(native.typicalTypedNs / 1000)));
out.push(rowT("  native JSON form (parse + validate + serialize)", "", "", n1(native.typicalJsonNs / 1000)));
out.push(rowT(
  "validateBatch(10,000 mixed) ÷ 10,000",
  bm(nodeRun.batch), bm(chromeRun.batch), n1(nativeTyped),
  `≤ 5 µs in Chromium: ${pf(checks.chromiumBatch)}`,
));
out.push(rowT("  native JSON form (validate_batch_json)", "", "", n1(nativeJson)));
out.push(rowT(
  "batch, wasm ÷ native typed",
  bm(ratios.node.typed), bm(ratios.chromium.typed), "1",
  `≤ 3: Node ${pf(checks.ratioNode)}, Chromium ${pf(checks.ratioChromium)}`,
));
out.push(rowT("batch, wasm ÷ native JSON form", bm(ratios.node.json), bm(ratios.chromium.json), "1"));
out.push(rowT(
  "batch verdicts ready/blocked/in_sync = native's",
  sameVerdicts(nodeRun) ? "yes" : "NO", sameVerdicts(chromeRun) ? "yes" : "NO",
  `${native.verdicts.ready}/${native.verdicts.blocked}/${native.verdicts.in_sync}`,
));
out.push("");
out.push(row("Where the batch time goes, µs per validation (best)", "Node", "Chromium", "native"));
out.push(row("validateBatch, total", n1(split.node.total), n1(split.chromium.total), n1(nativeTyped)));
out.push(row("reading the JS inputs alone (the last one malformed)¹", n1(split.node.read), n1(split.chromium.read), n1(native.jsonParseNsPerValidation / 1000)));
out.push(row("the rest: validating + building the JS reports", n1(split.node.rest), n1(split.chromium.rest), n1(native.jsonSerializeNsPerValidation / 1000 + nativeTyped)));
out.push(row("  building JS values alone (carriers(\"US\")), ns/value", n1(nodeRun.carriers.nsPerValue), n1(chromeRun.carriers.nsPerValue), ""));
out.push(row(`  → ${nodeRun.perReport.values.toFixed(0)} values per report at that rate (rough)`, n1(split.node.buildEstimate), n1(split.chromium.buildEstimate), ""));
out.push(row("conversion share: ≥ reading alone, ≤ all but native", `${pct(split.node.readShare)}-${pct(split.node.beyondNativeShare)}`, `${pct(split.chromium.readShare)}-${pct(split.chromium.beyondNativeShare)}`, ""));
out.push(`  ¹ the call reads all 10,000 inputs into Rust values, then throws (${nodeRun.readCheck}) before validating.`);
out.push("  native column: typed validate_batch; error::from_json of each input's text; serde_json::to_string of the");
out.push("  reports + typed validate_batch.");
out.push("");
out.push(row("A JSON string each way: the JS halves, µs per validation", "Node", "Chromium", ""));
const jsRow = (label, key) => out.push(row(label, n1(nodeRun.js[key].best), n1(chromeRun.js[key].best), ""));
jsRow(`JSON.stringify(inputs)  (${int(nodeRun.perInput.jsonBytes)} B each)`, "stringifyInputs");
jsRow("JSON.stringify(inputs, marking replacer)", "stringifyInputsMarking");
jsRow("TextEncoder.encodeInto a reusable Uint8Array", "encodeIntoReusable");
jsRow("TextEncoder.encode into a fresh Uint8Array", "encodeFresh");
jsRow("wasm-bindgen's &str copy (its charCodeAt loop)", "charCodeLoop");
jsRow(`TextDecoder.decode(reports JSON)  (${int(nodeRun.perReport.jsonBytes)} B each)`, "decodeReports");
jsRow("JSON.parse(reports JSON)", "parseReports");
jsRow("JSON.parse(inputs JSON)  (reference)", "parseInputs");
jsRow("JSON.stringify(reports)  (reference)", "stringifyReports");
jsRow("structuredClone(inputs)  (C++ walk of the inputs)", "cloneInputs");
jsRow("structuredClone(reports)  (C++ build of the reports)", "cloneReports");
out.push(row("JS side: stringify + encodeInto + decode + parse", n1(split.node.jsonJsSide), n1(split.chromium.jsonJsSide), ""));
out.push(row("+ native JSON form = floor of a JSON-string boundary", n1(split.node.jsonLowerBound), n1(split.chromium.jsonLowerBound), ""));
out.push(row("  against today's validateBatch", n1(split.node.total), n1(split.chromium.total), ""));
out.push("");
out.push(row(`Line items, largest shapes: validate in Node, ms (best)`, `n = ${int(SHAPE_LINES)}`, `2n`, "2n ÷ n"));
for (let i = 0; i + 1 < shapes.length; i += 2) {
  const [a, b] = [shapes[i], shapes[i + 1]];
  out.push(row(a.shape, n1(a.ms.best), n1(b.ms.best), (b.ms.best / a.ms.best).toFixed(2)));
}
out.push("  JS objects in and a report out, as an app calls it; the same inputs natively: cargo bench --bench validate.");
out.push("");
console.log(out.join("\n"));

console.log(JSON.stringify({
  node: process.version,
  chromium: chromeVersion,
  batchSize: BATCH_SIZE,
  size,
  coldStartMs: { node: coldNode, chromium: coldChrome, nodeRuns: nodeCold, chromiumRuns: chromeCold },
  usPerValidation: {
    node: { validate: nodeRun.validate, batch: nodeRun.batch },
    chromium: { validate: chromeRun.validate, batch: chromeRun.batch },
  },
  native,
  ratios,
  breakdown: split,
  runs: { node: nodeRun, chromium: chromeRun },
  targets: TARGETS,
  checks,
  lineItemShapes: shapes,
}));
