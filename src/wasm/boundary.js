// What the engine asks of JS values, in functions that never throw. A caller's value may throw from a
// getter, `toJSON`, a Proxy trap or an overridden method; an exception that crossed into the module
// would unwind past Rust frames without running them to their end, leaving the Validator borrowed and
// the module's stack pointer moved. So each call catches everything and answers plain data.
//
// Strings the engine reads: a BigInt, which JSON cannot carry, is written as a string starting
// "\u0000js:bigint:", and a caller's string starting with "\u0000" gets one more "\u0000" in front, so a
// mark can only come from here (src/json.rs, `parse_from_js`, reads both back).

const NUL = "\u0000";
const apply = Reflect.apply;
const stringify = JSON.stringify;
const getTime = Date.prototype.getTime;
const now = Date.now;
const stringValueOf = String.prototype.valueOf;
const bigIntValueOf = BigInt.prototype.valueOf;

// The primitive inside a String or BigInt wrapper object, or `undefined`.
function unwrap(value, valueOf) {
  try {
    return apply(valueOf, value, []);
  } catch {
    return undefined;
  }
}

// A caller's string as the engine must read it: unchanged, or escaped when it could pass for a mark.
function escape(text) {
  return text.length > 0 && text[0] === NUL ? NUL + text : text;
}

// JSON.stringify's replacer on the slow path: marks BigInts and escapes strings, wrapped or not (a
// wrapper's own `toString` would otherwise be asked for the text after the replacer).
function mark(key, value) {
  switch (typeof value) {
    case "bigint":
      return `${NUL}js:bigint:${value}`;
    case "string":
      return escape(value);
    case "object": {
      if (value === null) return value;
      const text = unwrap(value, stringValueOf);
      if (typeof text === "string") return escape(text);
      const big = unwrap(value, bigIntValueOf);
      if (typeof big === "bigint") return `${NUL}js:bigint:${big}`;
      return value;
    }
    default:
      return value;
  }
}

// The text and name of anything thrown, read without trusting it.
function describe(thrown) {
  let name = "";
  let message = "a value was thrown while reading it";
  try {
    if (thrown instanceof Error) {
      const n = thrown.name;
      if (typeof n === "string") name = n;
      const m = thrown.message;
      if (typeof m === "string") message = m.slice(0, 200);
    }
  } catch {
    // A throwing `name` or `message` getter, or a Proxy's trap: keep what was read.
  }
  return { name, message };
}

// A JS value as JSON text, `undefined` when JSON.stringify writes nothing (undefined, a function, a
// symbol), or `{failed: "too_deep" | "invalid", message, path}` when writing it threw.
export function toJson(value) {
  try {
    const text = stringify(value);
    // The fast path: no BigInt (which throws) and no "\u0000" anywhere, so no string needs escaping.
    if (text === undefined || !text.includes("\\u0000")) return text;
  } catch (error) {
    // A BigInt throws a TypeError: write it again, marking BigInts.
    if (!isTypeError(error)) return failure(error, value);
  }
  try {
    return stringify(value, mark);
  } catch (error) {
    return failure(error, value);
  }
}

function isTypeError(thrown) {
  try {
    return thrown instanceof TypeError;
  } catch {
    return false; // a Proxy whose getPrototypeOf trap throws
  }
}

function failure(thrown, value) {
  const { name, message } = describe(thrown);
  let path;
  try {
    path = pathOfFailure(value);
  } catch {
    // Nothing more to learn: the error names the whole value.
  }
  // JSON.stringify overflows its stack on very deep nesting: a RangeError that no value threw.
  if (path === undefined && name === "RangeError") return { failed: "too_deep", message, path: "" };
  return { failed: "invalid", message, path: path ?? "" };
}

// How many values the search for a failure visits at most, and how deep it goes.
const SEARCH_BUDGET = 10_000_000;
const SEARCH_DEPTH = 1_000;

// The path (`order.line_items[2].id`, as the engine writes paths) of the first value that throws when
// read as JSON.stringify reads it (a getter, `toJSON`, a Proxy trap) or that closes a cycle; undefined
// when none does now. Run only after JSON.stringify failed, so its cost does not matter.
function pathOfFailure(root) {
  const ancestors = new Set();
  let budget = SEARCH_BUDGET;
  const child = (path, key) =>
    typeof key === "number" ? `${path}[${key}]` : path === "" ? key : `${path}.${key}`;
  const walk = (holder, key, path) => {
    if (--budget < 0) return undefined;
    let value;
    try {
      value = holder[key];
      if (value !== null && (typeof value === "object" || typeof value === "function")) {
        const toJSON = value.toJSON;
        if (typeof toJSON === "function") value = apply(toJSON, value, [String(key)]);
      }
    } catch {
      return path;
    }
    value = mark(String(key), value);
    if (value === null || typeof value !== "object") return undefined;
    if (ancestors.has(value)) return path;
    if (ancestors.size >= SEARCH_DEPTH) return undefined;
    ancestors.add(value);
    try {
      let keys;
      try {
        keys = Array.isArray(value) ? value.length : Object.keys(value);
      } catch {
        return path;
      }
      if (typeof keys === "number") {
        for (let i = 0; i < keys; i++) {
          const found = walk(value, i, child(path, i));
          if (found !== undefined || budget < 0) return found;
        }
      } else {
        for (const k of keys) {
          const found = walk(value, k, child(path, k));
          if (found !== undefined || budget < 0) return found;
        }
      }
      return undefined;
    } finally {
      ancestors.delete(value);
    }
  };
  return walk({ "": root }, "", "");
}

// `now` as given to validate: a string as it is, a Date's time in milliseconds (NaN when invalid),
// the current time for undefined or null, and null for anything else (a Proxy of a Date included:
// only a real Date has a time, read with Date.prototype.getTime whatever the object overrides).
export function timeOf(value) {
  if (value === undefined || value === null) return now();
  if (typeof value === "string") return value;
  try {
    return apply(getTime, value, []);
  } catch {
    return null;
  }
}

// What was thrown, as one line for a message: an Error's message, a string as it is.
export function describeThrown(thrown) {
  if (typeof thrown === "string") return thrown.slice(0, 200);
  return describe(thrown).message;
}

// The DOM's own getter, called on the element itself: a look-alike or a Proxy of an element has no
// document. (Node.js has no DOM.)
const ownerDocument =
  typeof Node === "undefined" ? undefined : Object.getOwnPropertyDescriptor(Node.prototype, "ownerDocument")?.get;

// The document of a real HTML element, or null.
export function documentOf(element) {
  try {
    return element instanceof HTMLElement ? apply(ownerDocument, element, []) : null;
  } catch {
    return null;
  }
}

// A native promise of `value`: a caller's promise or thenable is followed without calling anything of
// it now (a `then` that throws rejects the promise instead of throwing here).
export function settle(value) {
  return new Promise((resolve) => resolve(value));
}
