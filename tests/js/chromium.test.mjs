// The wasm package in headless Chromium (Debian's, through playwright-core), under a strict CSP: every
// golden vector gives the native outcome, and hostile input gives a PreflightError, never a crash.

import assert from "node:assert/strict";
import { after, before, test } from "node:test";

import { launch, runPage, serve } from "./serve.mjs";

let server;
let browser;

before(async () => {
  server = await serve();
  browser = await launch();
});

after(async () => {
  await browser?.close();
  await server?.close();
});

test("vectors and hostile input in Chromium, under script-src 'self' 'wasm-unsafe-eval'", async () => {
  const { results, errors } = await runPage(browser, server.url, "tests/js/vectors.html");
  assert.equal(results.failure, undefined, results.failure);
  assert.deepEqual(errors, [], "console errors (a CSP refusal would show here)");
  assert.ok(results.ran >= 80, `only ${results.ran} vectors ran`);
  assert.deepEqual(results.differences, []);
  assert.ok(results.carriers > 30);
  for (const h of results.hostile) {
    assert.ok(h.threw, `${h.name} did not throw`);
    assert.ok(h.isError, h.name);
    assert.equal(h.errorName, "PreflightError", h.name);
    assert.equal(h.code, h.wantCode, h.name);
    assert.equal(h.path, h.wantPath, h.name);
    assert.equal(h.still, results.readyVerdict, `the instance after ${h.name}`);
  }
  assert.deepEqual(results.hostileCallsFailures, []);
  assert.ok(results.forgedId, "a string shaped like the BigInt mark kept as the caller's");
  assert.equal(results.large, 24_000, "24,000 items of one SKU: every unit planned");
});
