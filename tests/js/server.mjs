// The sync API for the browser tests: the real binary (`target/debug/preflight-server`) in demo mode on
// loopback, with a fresh SQLite file, the TikTok Shop simulator, and the widget's pages (`www/`, `pkg/`).

import { spawn } from "node:child_process";
import { createHmac } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../../", import.meta.url));

async function freePort() {
  const server = createServer();
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Starts the server; answers `{ url, stop }`. Its log is kept and printed if it fails to start. */
export async function startServer() {
  const dir = await mkdtemp(join(tmpdir(), "preflight-e2e-"));
  const port = await freePort();
  const secret = `e2e-${Math.random().toString(16).slice(2)}`;
  const child = spawn(
    join(root, "target/debug/preflight-server"),
    [
      "--demo",
      "--listen", `127.0.0.1:${port}`,
      "--database", join(dir, "preflight.sqlite3"),
      "--www", join(root, "www"),
      "--pkg", join(root, "pkg"),
      "--shopify-app-key", "preflight-e2e",
      "--shopify-app-secret", secret,
      "--tts-app-key", "e2e",
      "--tts-app-secret", "e2e-secret",
    ],
    { env: { ...process.env, RUST_LOG: process.env.RUST_LOG ?? "warn" }, stdio: ["ignore", "pipe", "pipe"] },
  );
  let log = "";
  child.stdout.on("data", (d) => (log += d));
  child.stderr.on("data", (d) => (log += d));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the server exited (${child.exitCode}):\n${log}`);
    try {
      const response = await fetch(`${url}/healthz`);
      if (response.ok) break;
    } catch {
      // Not listening yet.
    }
    if (Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`the server did not start within 60 s:\n${log}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  /** A session token of the demo shop, from `GET /demo/token`. */
  async function token() {
    const response = await fetch(`${url}/demo/token`);
    if (!response.ok) throw new Error(`GET /demo/token answered ${response.status}`);
    return (await response.json()).token;
  }
  return {
    url,
    log: () => log,
    token,
    /** `fetch(url + path)` as the demo shop (a fresh session token); answers `{ status, body }`, the body parsed. */
    async api(path, init = {}) {
      const headers = { authorization: `Bearer ${await token()}`, ...init.headers };
      const response = await fetch(`${url}${path}`, { ...init, headers });
      const text = await response.text();
      return { status: response.status, body: text ? JSON.parse(text) : null };
    },
    /** Sends a Shopify fulfillment webhook (`payload`, an object), signed with the app's secret; answers its status. */
    async webhook(payload, shop = "preflight-demo.myshopify.com") {
      const body = JSON.stringify(payload);
      const response = await fetch(`${url}/webhooks/shopify/fulfillments`, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          "x-shopify-hmac-sha256": createHmac("sha256", secret).update(body).digest("base64"),
          "x-shopify-shop-domain": shop,
          "x-shopify-topic": "fulfillments/update",
        },
        body,
      });
      await response.arrayBuffer();
      return response.status;
    },
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((resolve) => child.once("exit", resolve));
        child.kill("SIGTERM");
        await exited;
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}
