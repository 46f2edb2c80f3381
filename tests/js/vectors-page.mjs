// Runs in Chromium: every vector through the web build, compared with the native outcomes, and the
// hostile inputs; the results land in `window.results` for the test to read.

import init, { Validator, carriers } from "../../pkg/preflight.js";
import { compareAll, hostileCallFailures, hostileCalls, hostileInputs, oneSkuShape, parseVector } from "./vectors.mjs";

async function main() {
  await init();
  const names = await (await fetch("/tests/vectors/index.json")).json();
  const vectors = {};
  for (const name of names) vectors[name] = parseVector(await (await fetch(`/tests/vectors/${name}`)).text());
  const native = await (await fetch("/target/vector-reports.json")).json();
  const { ran, differences } = compareAll({ Validator }, vectors, native);

  const base = vectors[names.find((n) => vectors[n].expected.verdict === "ready" && typeof vectors[n].input === "object")];
  const validator = new Validator(base.settings);
  const hostile = hostileInputs(base.input).map(({ name, input, code, path }) => {
    try {
      validator.validate(input, base.now);
      return { name, threw: false };
    } catch (e) {
      const still = validator.validate(base.input, base.now).verdict;
      return { name, threw: true, isError: e instanceof Error, errorName: e.name, code: e.code, path: e.path, wantCode: code, wantPath: path, still };
    }
  });
  // JS values that throw while read.
  const hostileCallsFailures = hostileCallFailures(hostileCalls({ Validator, carriers }, base.settings, base.input, base.now));
  const forged = "\u0000js:bigint:abc def";
  const forgedId = validator.validate({ ...base.input, fulfillment: { ...base.input.fulfillment, id: forged } }, base.now)
    .fulfillmentId === forged;
  const large = validator.validate(oneSkuShape(24_000), base.now).plan.lineItemIds.length;
  return {
    ran, differences, hostile, hostileCallsFailures, forgedId, large,
    carriers: carriers("US").length, readyVerdict: base.expected.verdict,
  };
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
