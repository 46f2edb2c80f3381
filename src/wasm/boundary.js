// What the module asks of JS, in functions that never throw. A caller's value may throw from a getter,
// `toJSON`, a Proxy trap or an overridden method; an exception that crossed into the module would unwind
// past Rust frames without running them to their end, leaving the Validator borrowed and the module's
// stack pointer moved. So each function catches everything and answers plain data. The built-ins they
// use are taken when the module loads; a page that replaces built-ins before then is out of reach.
//
// Strings the engine reads: a BigInt, which JSON cannot carry, is written as a string starting
// "\u0000js:bigint:", and a caller's string starting with "\u0000" gets one more "\u0000" in front, so a
// mark can only come from here (src/json.rs, `parse_from_js`, reads both back).

const NUL = "\u0000";
const apply = Reflect.apply;
const stringify = JSON.stringify;
const parse = JSON.parse;
const ErrorOf = Error;
const defineProperties = Object.defineProperties;
const keysOf = Object.keys;
const isArray = Array.isArray;
const toString = String;
const toNumber = Number;
const getTime = Date.prototype.getTime;
const now = Date.now;
const stringValueOf = String.prototype.valueOf;
const numberValueOf = Number.prototype.valueOf;
const bigIntValueOf = BigInt.prototype.valueOf;
const ErrorPrototype = Error.prototype;
const RangeErrorPrototype = RangeError.prototype;
const TypeErrorPrototype = TypeError.prototype;
const isPrototypeOf = Object.prototype.isPrototypeOf;

// The longest JSON text taken, in UTF-16 code units: far above a batch of 10,000 fulfillments (about
// 5.5 MB), and far below what would exhaust the module's memory once parsed.
const MAX_TEXT = 16 * 1024 * 1024;
// How deep the search for a failure goes: the engine's own limit (src/json.rs, MAX_DEPTH).
const MAX_DEPTH = 128;
// How many values the search for a failure visits at most.
const SEARCH_BUDGET = 10_000_000;

// Whether `value` is an object of `prototype`'s kind; false when asking throws (a Proxy's trap).
function inherits(value, prototype) {
  try {
    return apply(isPrototypeOf, prototype, [value]);
  } catch {
    return false;
  }
}

// Whether `value` is a wrapper object of the primitive that `valueOf` (a built-in's own) reads.
function wraps(value, valueOf) {
  try {
    apply(valueOf, value, []);
    return true;
  } catch {
    return false;
  }
}

// A caller's string as the engine must read it: unchanged, or escaped when it could pass for a mark.
function escape(text) {
  return text.length > 0 && text[0] === NUL ? NUL + text : text;
}

// JSON.stringify's replacer on the slow path: marks BigInts and escapes strings. A String wrapper is
// written as ToString of it, as JSON.stringify itself does, and a BigInt wrapper as its BigInt.
function mark(key, value) {
  switch (typeof value) {
    case "bigint":
      return `${NUL}js:bigint:${value}`;
    case "string":
      return escape(value);
    case "object":
      if (value === null) return value;
      if (wraps(value, stringValueOf)) return escape(toString(value));
      if (wraps(value, bigIntValueOf)) return `${NUL}js:bigint:${apply(bigIntValueOf, value, [])}`;
      return value;
    default:
      return value;
  }
}

// The message of anything thrown, read without trusting it.
function messageOf(thrown) {
  try {
    if (typeof thrown === "string") return thrown.slice(0, 200);
    if (inherits(thrown, ErrorPrototype)) {
      const message = thrown.message;
      if (typeof message === "string") return message.slice(0, 200);
    }
  } catch {
    // A throwing `message` getter, or a Proxy's trap.
  }
  return "a value was thrown while reading it";
}

// A JS value as JSON text, `undefined` when JSON.stringify writes nothing (undefined, a function, a
// symbol), or `{failed: "too_deep" | "too_large" | "invalid", message, path}` when it cannot be written.
export function toJson(value) {
  try {
    const text = stringify(value);
    // The fast path: no BigInt and no U+0000 anywhere, so no string needs escaping.
    if (text === undefined || !text.includes("\\u0000")) return sized(text);
  } catch (error) {
    // A BigInt throws a TypeError (so do a cycle and some callers' values): write it again, marking
    // BigInts. A getter may then run a second time, and a third while a failure is searched for.
    if (!inherits(error, TypeErrorPrototype)) return failure(error, value);
  }
  try {
    return sized(stringify(value, mark));
  } catch (error) {
    return failure(error, value);
  }
}

function sized(text) {
  if (text === undefined || text.length <= MAX_TEXT) return text;
  return { failed: "too_large", message: `${text.length} characters of JSON, at most ${MAX_TEXT}`, path: "" };
}

function failure(thrown, value) {
  const message = messageOf(thrown);
  let found;
  try {
    found = searchFailure(value);
  } catch {
    // Nothing more to learn: the error names the whole value.
  }
  if (found?.deep) return { failed: "too_deep", message, path: "" };
  if (found !== undefined) return { failed: "invalid", message, path: found.path };
  // No value threw and none is too deep: JS could not hold the text ("Invalid string length").
  if (inherits(thrown, RangeErrorPrototype)) return { failed: "too_large", message, path: "" };
  return { failed: "invalid", message, path: "" };
}

// Where JSON.stringify failed, reading the value as it does: `{path}` of the first value that throws
// when read (a getter, `toJSON`, a wrapper's `valueOf` or `toString`, a Proxy trap) or that closes a
// cycle, with paths as the engine writes them (`order.line_items[2].id`); `{deep: true}` past the
// engine's depth; undefined when nothing fails now. Run only after a failure, so its cost is no matter.
function searchFailure(root) {
  const ancestors = new Set();
  let budget = SEARCH_BUDGET;
  const child = (path, key) =>
    typeof key === "number" ? `${path}[${key}]` : path === "" ? key : `${path}.${key}`;
  const walk = (holder, key, path) => {
    if (--budget < 0) return undefined;
    let value;
    try {
      value = holder[key];
      if (value !== null && (typeof value === "object" || typeof value === "function" || typeof value === "bigint")) {
        const toJSON = value.toJSON;
        if (typeof toJSON === "function") value = apply(toJSON, value, [toString(key)]);
      }
      if (value !== null && typeof value === "object") {
        // JSON.stringify reads a Number wrapper through ToNumber, a String wrapper through ToString.
        if (wraps(value, numberValueOf)) toNumber(value);
        value = mark(toString(key), value);
      }
    } catch {
      return { path };
    }
    if (value === null || typeof value !== "object") return undefined;
    if (ancestors.has(value)) return { path };
    if (ancestors.size >= MAX_DEPTH) return { deep: true };
    ancestors.add(value);
    try {
      let keys;
      try {
        keys = isArray(value) ? value.length : keysOf(value);
      } catch {
        return { path };
      }
      const each = typeof keys === "number" ? { length: keys } : keys;
      for (let i = 0; i < each.length && budget >= 0; i++) {
        const k = typeof keys === "number" ? i : keys[i];
        const found = walk(value, k, child(path, k));
        if (found !== undefined) return found;
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

// A PreflightError: an Error named "PreflightError" with its own `code`, `path` and `detail`, defined
// (not assigned, so no setter a page added to a prototype runs).
export function preflightError(message, code, path, detail) {
  const error = new ErrorOf(message);
  const field = (value) => ({ value, writable: true, enumerable: true, configurable: true });
  defineProperties(error, {
    name: field("PreflightError"),
    code: field(code),
    path: field(path),
    detail: field(detail),
  });
  return error;
}

// A report (or any JSON the module wrote) as JS values.
export function fromJson(text) {
  return parse(text);
}

// What was thrown, as one line for a message: an Error's message, a string as it is.
export function describeThrown(thrown) {
  return messageOf(thrown);
}
