// A static server on loopback for the browser tests and benchmarks: the package, these scripts, the
// vectors and the native outcomes, each page under `Content-Security-Policy: script-src 'self'
// 'wasm-unsafe-eval'` (no inline script, no eval), as the widget's host pages are.

import { createServer } from "node:http";
import { readFile, readdir } from "node:fs/promises";
import { extname, normalize } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../../", import.meta.url));
const ALLOWED = ["pkg/", "tests/js/", "tests/vectors/", "target/vector-reports.json", "target/bench/"];
const TYPES = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".json": "application/json",
  ".wasm": "application/wasm",
};
export const CSP = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; object-src 'none'; base-uri 'none'";

/** Starts the server on a free loopback port; answers `{ url, close }`. */
export async function serve() {
  const server = createServer(async (req, res) => {
    const path = normalize(decodeURIComponent(new URL(req.url, "http://x").pathname)).replace(/^\/+/, "");
    try {
      if (path === "favicon.ico") {
        res.writeHead(204).end();
        return;
      }
      if (path === "tests/vectors/index.json") {
        const names = (await readdir(`${root}tests/vectors`)).filter((n) => n.endsWith(".json")).sort();
        res.writeHead(200, { "content-type": TYPES[".json"] }).end(JSON.stringify(names));
        return;
      }
      if (path.includes("..") || !ALLOWED.some((p) => path.startsWith(p))) {
        res.writeHead(404).end();
        return;
      }
      const body = await readFile(root + path);
      res.writeHead(200, {
        "content-type": TYPES[extname(path)] ?? "application/octet-stream",
        "content-security-policy": CSP,
        "cache-control": "no-store",
      }).end(body);
    } catch {
      res.writeHead(404).end();
    }
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address();
  return { url: `http://127.0.0.1:${port}`, close: () => new Promise((r) => server.close(r)) };
}

/** Debian's headless Chromium through playwright-core (no browser download). */
export async function launch() {
  const { chromium } = await import("playwright-core");
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    headless: true,
    args: [
      "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync",
    ],
  });
}

/** Opens `page` on the server and waits for it to set `window.results`; answers them and any CSP refusals. */
export async function runPage(browser, url, page, timeout = 120_000) {
  const tab = await browser.newPage();
  const refused = [];
  tab.on("console", (m) => {
    if (m.type() === "error") refused.push(m.text());
  });
  tab.on("pageerror", (e) => refused.push(String(e)));
  await tab.goto(`${url}/${page}`);
  await tab.waitForFunction(() => window.results !== undefined, null, { timeout });
  const results = await tab.evaluate(() => window.results);
  await tab.close();
  return { results, errors: refused };
}
