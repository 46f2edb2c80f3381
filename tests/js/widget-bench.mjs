// The widget's benchmark in headless Chromium: its .wasm size next to the engine-only build's, the
// time from 1,000 fulfillments' data to the rendered list, and the time from a keystroke in the
// tracking-number field to the re-checked dialog. Prints the figures; asserts nothing.

import { readFileSync } from "node:fs";
import { gzipSync } from "node:zlib";
import { fileURLToPath } from "node:url";
import { launch } from "./serve.mjs";
import { startServer } from "./server.mjs";
import { routeRows } from "./widget-data.mjs";

const root = fileURLToPath(new URL("../../", import.meta.url));
const ROWS = 1000;
const RUNS = 7;
const KEYSTROKES = 200;

const fmt = (n) => n.toLocaleString("en-US");
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const pct = (xs, p) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))];

function size(path) {
  const bytes = readFileSync(root + path);
  return { raw: bytes.length, gzip: gzipSync(bytes, { level: 9 }).length };
}

const widget = size("pkg/widget/preflight_widget_bg.wasm");
const engine = size("pkg/preflight_bg.wasm");

const server = await startServer();
const browser = await launch();
try {
  const checks = [];
  const renders = [];
  const layouts = [];
  let keys = [];
  for (let run = 0; run < RUNS; run++) {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    await routeRows(page, ROWS);
    // Right after the task that rendered the rows (before any frame): force style and layout.
    await page.addInitScript((rows) => {
      new MutationObserver((_, observer) => {
        if (document.querySelectorAll("tbody tr").length < rows) return;
        void document.body.offsetHeight;
        const data = performance.getEntriesByName("fp:data").at(-1);
        window.laidOut = performance.now() - data.startTime;
        observer.disconnect();
      }).observe(document, { childList: true, subtree: true });
    }, ROWS);
    await page.goto(`${server.url}/`);
    await page.waitForFunction(() => performance.getEntriesByName("fp:render").length > 0, null, { timeout: 60_000 });
    const timing = await page.evaluate(() => ({
      check: performance.getEntriesByName("fp:check")[0].duration,
      render: performance.getEntriesByName("fp:render")[0].duration,
      laidOut: window.laidOut,
      rows: document.querySelectorAll("tbody tr").length,
    }));
    if (timing.rows !== ROWS) throw new Error(`${timing.rows} rows rendered, expected ${ROWS}`);
    checks.push(timing.check);
    renders.push(timing.render);
    layouts.push(timing.laidOut);
    if (run === 0) {
      await page.getByRole("button", { name: "Will fail: view reason" }).first().click();
      // Real key presses; a listener on the document runs after the widget's own (on its element)
      // and records the time from the input event's creation to the end of the widget's re-check.
      await page.evaluate(() => {
        window.keyTimes = [];
        document.addEventListener("input", (e) => window.keyTimes.push(performance.now() - e.timeStamp));
      });
      const input = page.locator("dialog input[data-action=tracking]");
      await input.fill("");
      for (let i = 0; i < KEYSTROKES / 20; i++) {
        await input.pressSequentially("1Z999AA10123456784".slice(0, 18));
        await input.fill("");
      }
      keys = await page.evaluate(() => window.keyTimes);
    }
    await page.close();
  }
  console.log(`widget benchmark (headless Chromium, ${RUNS} page loads; medians)`);
  console.log(`  pkg/widget/preflight_widget_bg.wasm  ${fmt(widget.raw).padStart(9)} B raw  ${fmt(widget.gzip).padStart(9)} B gzip   (≤120 KB gzip ${widget.gzip <= 120_000 ? "✓" : "✗"})`);
  console.log(`  pkg/preflight_bg.wasm (engine only)  ${fmt(engine.raw).padStart(9)} B raw  ${fmt(engine.gzip).padStart(9)} B gzip`);
  console.log(`  ${ROWS} fulfillments, data → rendered   ${median(checks).toFixed(1)} ms checked, ${median(renders).toFixed(1)} ms in the DOM, ${median(layouts).toFixed(1)} ms with style and layout   (≤100 ms ${median(layouts) <= 100 ? "✓" : "✗"})  [runs: ${layouts.map((x) => x.toFixed(0)).join(", ")}]`);
  console.log(`  key press → dialog re-checked        median ${median(keys).toFixed(1)} ms, p95 ${pct(keys, 0.95).toFixed(1)} ms, max ${Math.max(...keys).toFixed(1)} ms over ${keys.length} input events   (≤16 ms ${Math.max(...keys) <= 16 ? "✓" : "✗"})`);
} finally {
  await browser.close();
  await server.stop();
}
