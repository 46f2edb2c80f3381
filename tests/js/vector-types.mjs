// Writes target/vector-types.ts: every golden vector's settings, input and native outcome as literals
// that must satisfy the package's TypeScript types (`Settings`, `Input`, `Report`), so that `tsc` checks
// the types against what the engine reads and writes, not only against hand-written examples.
// Run by `cargo xtask test` after it writes target/vector-reports.json.

import { readFileSync, readdirSync, writeFileSync } from "node:fs";

import { parseVector } from "./vectors.mjs";

const root = new URL("../../", import.meta.url);
const read = (path) => readFileSync(new URL(path, root), "utf8");
const native = JSON.parse(read("target/vector-reports.json"));

const cases = [];
for (const name of readdirSync(new URL("tests/vectors/", root)).filter((n) => n.endsWith(".json")).sort()) {
  const vector = parseVector(read(`tests/vectors/${name}`));
  const outcome = native[name];
  // Malformed input is refused by design; the types describe what is accepted.
  if (typeof vector.input !== "object" || outcome === undefined || "error" in outcome) continue;
  cases.push(`  ${JSON.stringify(name)}: {\n    settings: ${JSON.stringify(vector.settings)},\n` +
    `    input: ${JSON.stringify(vector.input)},\n    report: ${JSON.stringify(outcome)},\n  },`);
}
if (cases.length < 80) throw new Error(`only ${cases.length} vectors with a report`);

writeFileSync(new URL("target/vector-types.ts", root), `// Written by tests/js/vector-types.mjs: do not edit.
import type { Input, Report, Settings } from "../pkg/node.js";

export const vectors = {
${cases.join("\n")}
} satisfies Record<string, { settings: Settings; input: Input; report: Report }>;
`);
console.log(`vector-types: ${cases.length} vectors written to target/vector-types.ts`);
