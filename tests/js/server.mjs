// The sync API for the browser tests: the real binary (`target/debug/preflight-server`) in demo mode on
// loopback, with a fresh SQLite file, the TikTok Shop simulator, and the widget's pages (`www/`, `pkg/`).

import { spawn } from "node:child_process";
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
  const child = spawn(
    join(root, "target/debug/preflight-server"),
    [
      "--demo",
      "--listen", `127.0.0.1:${port}`,
      "--database", join(dir, "preflight.sqlite3"),
      "--www", join(root, "www"),
      "--pkg", join(root, "pkg"),
      "--shopify-app-key", "preflight-e2e",
      "--shopify-app-secret", `e2e-${Math.random().toString(16).slice(2)}`,
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
  return {
    url,
    log: () => log,
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
