// Runs in Chromium for `bench.mjs`, under the server's CSP (no inline script). `?mode=init`: one cold
// start, from `init()` (the .wasm fetched from the server and compiled, streaming) to the first report;
// `?mode=throughput`: the timed suite of bench-inputs.mjs. The results land in `window.results`.

import init, { Validator, carriers } from "../../pkg/preflight.js";
import { NOW, SETTINGS, throughput, typical } from "./bench-inputs.mjs";

async function coldStart() {
  const input = typical();
  const start = performance.now();
  await init();
  const loaded = performance.now();
  const validator = new Validator(SETTINGS);
  const built = performance.now();
  const report = validator.validate(input, NOW);
  const end = performance.now();
  const wasmUrl = new URL("../../pkg/preflight_bg.wasm", import.meta.url).href;
  const fetched = performance.getEntriesByName(wasmUrl)[0];
  return {
    initMs: end - start,
    loadMs: loaded - start,
    newMs: built - loaded,
    firstMs: end - built,
    sinceNavigationMs: end,
    verdict: report.verdict,
    wasmFetchMs: fetched ? fetched.responseEnd - fetched.startTime : null,
    wasmTransferBytes: fetched ? fetched.transferSize : null,
  };
}

async function main() {
  const mode = new URLSearchParams(location.search).get("mode") ?? "init";
  if (mode === "init") return coldStart();
  await init();
  return throughput({ Validator, carriers });
}

main().then(
  (results) => {
    window.results = results;
    document.getElementById("status").textContent = "done";
  },
  (error) => {
    window.results = { failure: String(error?.stack ?? error) };
  },
);
