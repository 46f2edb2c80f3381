// The golden vectors through the wasm API, for Node and for the browser: each vector's outcome (the
// report, or the thrown PreflightError's code and path) in the shape the native runner writes.

/**
 * A vector file, with integers past 2^53 kept exact as strings (the engine reads ids either way). A
 * vector whose input is raw text (malformed JSON, for the JSON form) is read as it is.
 */
export function parseVector(text) {
  const plain = JSON.parse(text);
  if (typeof plain.input === "string") return plain;
  return JSON.parse(text.replace(/([:\[,]\s*)(-?\d{16,})(?=\s*[,\]}])/g, '$1"$2"'));
}

/** A value with object keys sorted, so that two reports compare field for field. */
export function canonical(value) {
  if (Array.isArray(value)) return value.map(canonical);
  if (value && typeof value === "object") {
    return Object.fromEntries(Object.keys(value).sort().map((k) => [k, canonical(value[k])]));
  }
  return value;
}

function caught(error, prefix) {
  if (error?.name !== "PreflightError") throw error;
  const path = error.path === "now" || prefix === "" ? error.path
    : error.path === "" ? prefix : error.path.startsWith("[") ? prefix + error.path : `${prefix}.${error.path}`;
  return { error: { code: error.code, path } };
}

/** One vector's outcome through `api` ({ Validator }). Vectors whose input is raw text are skipped. */
export function outcome(api, vector) {
  if (typeof vector.input === "string") return undefined;
  let validator;
  try {
    validator = new api.Validator(vector.settings);
  } catch (e) {
    return caught(e, "settings");
  }
  try {
    return validator.validate(vector.input, vector.now);
  } catch (e) {
    return caught(e, e?.path === "now" ? "" : "input");
  } finally {
    validator.free();
  }
}

/**
 * Runs every vector and compares with the native outcomes: answers the names of those that differ, with
 * both outcomes, and how many ran.
 */
export function compareAll(api, vectors, native) {
  const differences = [];
  let ran = 0;
  for (const [name, vector] of Object.entries(vectors)) {
    const got = outcome(api, vector);
    if (got === undefined) continue;
    ran += 1;
    const want = native[name];
    if (JSON.stringify(canonical(got)) !== JSON.stringify(canonical(want))) {
      differences.push({ name, want, got });
    }
  }
  return { ran, differences };
}

/** The inputs no JS caller should be able to crash the module with, each with the path it must name. */
export function hostileInputs(base) {
  const deep = [];
  let cursor = deep;
  for (let i = 0; i < 10_000; i++) {
    const next = [];
    cursor.push(next);
    cursor = next;
  }
  const withField = (path, value) => {
    const copy = structuredClone(base);
    let slot = copy;
    for (const key of path.slice(0, -1)) slot = slot[key];
    slot[path.at(-1)] = value;
    return copy;
  };
  return [
    { name: "undefined", input: undefined, code: "input.invalid_type", path: "" },
    { name: "null", input: null, code: "input.invalid_type", path: "" },
    { name: "a string for the input", input: "{}", code: "input.invalid_type", path: "" },
    { name: "a number for the input", input: 42, code: "input.invalid_type", path: "" },
    { name: "an array for the input", input: [], code: "input.invalid_type", path: "" },
    { name: "a string for the fulfillment", input: withField(["fulfillment"], "x"), code: "input.invalid_type", path: "fulfillment" },
    // JSON.stringify writes NaN and Infinity as null, and leaves out functions, symbols and undefined.
    { name: "NaN quantity", input: withField(["fulfillment", "line_items", 0, "quantity"], NaN), code: "input.missing_field", path: "fulfillment.line_items[0].quantity" },
    { name: "Infinity quantity", input: withField(["fulfillment", "line_items", 0, "quantity"], Infinity), code: "input.missing_field", path: "fulfillment.line_items[0].quantity" },
    { name: "fractional quantity", input: withField(["fulfillment", "line_items", 0, "quantity"], 1.5), code: "input.invalid_type", path: "fulfillment.line_items[0].quantity" },
    { name: "BigInt quantity past u32", input: withField(["fulfillment", "line_items", 0, "quantity"], 2n ** 40n), code: "input.invalid_value", path: "fulfillment.line_items[0].quantity" },
    { name: "an id past 2^53 as a number", input: withField(["fulfillment", "id"], 2 ** 60), code: "input.imprecise_id", path: "fulfillment.id" },
    { name: "NaN id", input: withField(["fulfillment", "id"], NaN), code: "input.missing_field", path: "fulfillment.id" },
    { name: "a symbol", input: withField(["order", "id"], Symbol("x")), code: "input.missing_field", path: "order.id" },
    { name: "a function", input: withField(["order"], () => 1), code: "input.missing_field", path: "order" },
    { name: "a function for the input", input: () => 1, code: "input.invalid_type", path: "" },
    { name: "a Map for the order", input: withField(["order"], new Map([["id", "1"]])), code: "input.missing_field", path: "order.id" },
    { name: "nesting 10,000 deep", input: withField(["fulfillment", "line_items"], deep), code: "input.too_deep", path: "" },
    { name: "a cycle", input: (() => { const c = structuredClone(base); c.order.self = c; return c; })(), code: "input.invalid_value", path: "" },
    { name: "a getter that throws", input: withField(["order"], { get id() { throw "no"; } }), code: "input.invalid_value", path: "" },
    { name: "undefined for the order", input: withField(["order"], undefined), code: "input.missing_field", path: "order" },
    { name: "a timestamp without offset", input: withField(["fulfillment", "created_at"], "2026-11-20T10:00:00"), code: "input.invalid_timestamp", path: "fulfillment.created_at" },
    { name: "a misspelt history field", input: withField(["history"], { shipedAt: "2026-11-20T10:00:00Z" }), code: "input.unknown_field", path: "history.shipedAt" },
  ];
}
