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
    { name: "a cycle", input: (() => { const c = structuredClone(base); c.order.self = c; return c; })(), code: "input.invalid_value", path: "order.self" },
    { name: "a getter that throws", input: withField(["order"], { get id() { throw "no"; } }), code: "input.invalid_value", path: "order.id" },
    { name: "a toJSON that throws", input: withField(["fulfillment", "line_items", 0, "sku"], { toJSON() { throw new Error("no"); } }), code: "input.invalid_value", path: "fulfillment.line_items[0].sku" },
    { name: "undefined for the order", input: withField(["order"], undefined), code: "input.missing_field", path: "order" },
    { name: "a Number wrapper whose valueOf throws", input: withField(["fulfillment", "line_items", 0, "quantity"], Object.assign(new Number(1), { valueOf() { throw new Error("no"); } })), code: "input.invalid_value", path: "fulfillment.line_items[0].quantity" },
    { name: "a String wrapper whose toString throws", input: withField(["order", "id"], Object.assign(new String("1"), { toString() { throw new TypeError("no"); } })), code: "input.invalid_value", path: "order.id" },
    { name: "a getter throwing a RangeError", input: withField(["order"], { get id() { throw new RangeError("no"); } }), code: "input.invalid_value", path: "order.id" },
    { name: "a getter throwing an error named RangeError", input: withField(["order"], { get id() { const e = new Error("no"); e.name = "RangeError"; throw e; } }), code: "input.invalid_value", path: "order.id" },
    { name: "a revoked Proxy in a list", input: withField(["order", "line_items", 0], (() => { const { proxy, revoke } = Proxy.revocable({}, {}); revoke(); return proxy; })()), code: "input.invalid_value", path: "order.line_items[0]" },
    { name: "a timestamp without offset", input: withField(["fulfillment", "created_at"], "2026-11-20T10:00:00"), code: "input.invalid_timestamp", path: "fulfillment.created_at" },
    { name: "a misspelt history field", input: withField(["history"], { shipedAt: "2026-11-20T10:00:00Z" }), code: "input.unknown_field", path: "history.shipedAt" },
  ];
}

/**
 * Calls whose JS values throw while the engine reads them (a Proxy of a Date, an error whose own `name`
 * and `message` throw, Proxy traps), each made `times` times: past the ~1,190 calls after which a module
 * that let such an exception unwind through it ran out of stack. Answers, for each kind, how its calls
 * ended (`errors`: PreflightError code and path, with counts; `reports`; `other`: anything else thrown)
 * and whether every entry point still works afterwards (`after`: "ok" or what it threw).
 */
export function hostileCalls({ Validator, carriers }, settings, input, now, times = 1200) {
  const fails = (what) => () => { throw new Error(what); };
  const nasty = () => {
    const error = new Error("thrown");
    Object.defineProperty(error, "name", { get: fails("name") });
    Object.defineProperty(error, "message", { get: fails("message") });
    return error;
  };
  const throwing = (thrown) => ({ get id() { throw thrown; } });
  class BadDate extends Date {
    getTime() { throw new Error("getTime"); }
    toJSON() { throw new Error("toJSON"); }
  }
  const traps = new Proxy({}, { ownKeys: fails("ownKeys"), get: fails("get"), getPrototypeOf: fails("getPrototypeOf") });
  const thrownProxy = new Proxy(new Error("p"), { getPrototypeOf: fails("getPrototypeOf"), get: fails("get") });
  const v = new Validator(settings);
  const withOrder = (order) => ({ ...input, order });
  const kinds = [
    ["now: a Proxy of a Date", () => v.validate(input, new Proxy(new Date(now), {}))],
    ["now: a Date subclass whose getTime throws", () => v.validate(input, new BadDate(now))],
    ["a field: a Date subclass whose toJSON throws", () => v.validate({ ...input, fulfillment: { ...input.fulfillment, created_at: new BadDate(now) } }, now)],
    ["a getter throws an Error whose name and message throw", () => v.validate(withOrder(throwing(nasty())), now)],
    ["a getter throws a Proxy whose every trap throws", () => v.validate(withOrder(throwing(thrownProxy)), now)],
    ["the input: a Proxy whose traps throw", () => v.validate(traps, now)],
    ["validateBatch: a Proxy whose traps throw", () => v.validateBatch([input, traps], now)],
    ["setCarrierMappings: a Proxy whose traps throw", () => v.setCarrierMappings(traps)],
    ["new Validator: a Proxy whose traps throw", () => new Validator(traps).free()],
    ["carriers: a Proxy whose traps throw", () => carriers(traps)],
  ];
  const attempt = (f) => {
    try {
      f();
      return "ok";
    } catch (e) {
      return `${e?.name}: ${e?.message}`;
    }
  };
  const results = kinds.map(([name, call]) => {
    const errors = {};
    const other = new Set();
    let reports = 0;
    for (let i = 0; i < times; i++) {
      try {
        call();
        reports += 1;
      } catch (e) {
        if (e instanceof Error && e.name === "PreflightError") {
          const key = `${e.code} @${e.path}`;
          errors[key] = (errors[key] ?? 0) + 1;
        } else {
          other.add(String(e));
        }
      }
    }
    const after = {
      validate: attempt(() => { if (v.validate(input, now).verdict !== "ready") throw new Error("not ready"); }),
      setCarrierMappings: attempt(() => v.setCarrierMappings(settings.carrierMappings ?? [])),
      carriers: attempt(() => { if (carriers("US").length === 0) throw new Error("none"); }),
      newValidator: attempt(() => new Validator(settings).free()),
    };
    return { name, errors, reports, other: [...other], after };
  });
  return { results, free: attempt(() => v.free()) };
}

/** What `hostileCalls` must answer for each kind: its PreflightError (code and path), or a report. */
export const HOSTILE_CALL_OUTCOMES = {
  "now: a Proxy of a Date": "input.invalid_type @now",
  "now: a Date subclass whose getTime throws": "report",
  "a field: a Date subclass whose toJSON throws": "input.invalid_value @fulfillment.created_at",
  "a getter throws an Error whose name and message throw": "input.invalid_value @order.id",
  "a getter throws a Proxy whose every trap throws": "input.invalid_value @order.id",
  "the input: a Proxy whose traps throw": "input.invalid_value @",
  "validateBatch: a Proxy whose traps throw": "input.invalid_value @inputs[1]",
  "setCarrierMappings: a Proxy whose traps throw": "input.invalid_value @carrierMappings",
  "new Validator: a Proxy whose traps throw": "input.invalid_value @",
  "carriers: a Proxy whose traps throw": "input.invalid_value @region",
};

/** Checks `hostileCalls`' answer: each kind ended as it must, every time, and left nothing broken. */
export function hostileCallFailures({ results, free }, times = 1200) {
  const failures = [];
  for (const { name, errors, reports, other, after } of results) {
    const want = HOSTILE_CALL_OUTCOMES[name];
    const got = want === "report" ? (reports === times ? "report" : JSON.stringify({ errors, reports, other }))
      : (errors[want] === times ? want : JSON.stringify({ errors, reports, other }));
    if (got !== want) failures.push(`${name}: want ${want}, got ${got}`);
    for (const [entry, outcome] of Object.entries(after)) {
      if (outcome !== "ok") failures.push(`${name}: afterwards ${entry} threw ${outcome}`);
    }
  }
  if (free !== "ok") failures.push(`free() threw ${free}`);
  return failures;
}

/**
 * The line-item shape that trapped the module ("capacity overflow"): `n` items of one SKU, each with
 * its own variant id, against `n` units of that SKU (tests/common/shapes.rs builds the same).
 */
export function oneSkuShape(n) {
  return {
    fulfillment: {
      id: 1, status: "success", tracking_company: "UPS", tracking_number: "1Z999AA10123456784",
      line_items: Array.from({ length: n }, (_, k) => ({ id: k, sku: "A", quantity: 1, variant_id: k + 1 })),
    },
    order: {
      id: "576461413038785752", status: "AWAITING_SHIPMENT",
      line_items: Array.from({ length: n }, (_, k) => ({ id: String(k), seller_sku: "A" })),
    },
    history: null,
  };
}
