// The benchmark's inputs, shared by Node and the page: the same settings, instant, typical fulfillment
// and 10,000 mixed fulfillments as `benches/validate.rs` (`SETTINGS`, `NOW`, `TYPICAL`, `mixed(i)`), built
// as the same JSON text and parsed, so that the wasm figures compare with the native ones.

export const SETTINGS = {
  region: "US",
  carrierMappings: [{ from: "Acme Freight", to: "UPS" }, { from: "Other", to: "UniUni" }],
};

export const NOW = "2026-11-21T09:30:00Z";

/** How many fulfillments the batch holds. */
export const BATCH_SIZE = 10_000;

/** Three items, the carrier by mapping, shipped once and now taking its one tracking update. */
export const TYPICAL_TEXT = `{
  "fulfillment": {"id": 5012345678901, "order_id": 4012345678901, "status": "success",
    "tracking_company": "Acme Freight", "tracking_number": "1Z5R89390357567127",
    "created_at": "2026-11-20T10:00:00-05:00",
    "line_items": [{"id": 1, "variant_id": 11, "sku": "TEE-M", "quantity": 1},
                   {"id": 2, "variant_id": 12, "sku": "MUG", "quantity": 1},
                   {"id": 3, "variant_id": 13, "sku": "CAP", "quantity": 1}]},
  "order": {"id": "576461413038785752", "status": "IN_TRANSIT",
    "fulfillment_type": "FULFILLMENT_BY_SELLER", "shipping_type": "SELLER",
    "line_items": [
      {"id": "577086512123755101", "seller_sku": "TEE-M", "package_id": "1153132168123859001",
       "package_status": "FULFILLING", "tracking_number": "1Z999AA10123456784",
       "shipping_provider_id": "7117859084333745966", "rts_time": 1795186800},
      {"id": "577086512123755102", "seller_sku": "MUG", "package_id": "1153132168123859001",
       "package_status": "FULFILLING", "tracking_number": "1Z999AA10123456784",
       "shipping_provider_id": "7117859084333745966", "rts_time": 1795186800},
      {"id": "577086512123755103", "seller_sku": "CAP", "package_id": "1153132168123859001",
       "package_status": "FULFILLING", "tracking_number": "1Z999AA10123456784",
       "shipping_provider_id": "7117859084333745966", "rts_time": 1795186800}],
    "packages": [{"id": "1153132168123859001"}]},
  "history": {"packageId": "1153132168123859001", "shippingProviderId": "7117859084333745966",
    "trackingNumber": "1Z999AA10123456784", "shippedAt": "2026-11-20T15:00:00Z",
    "trackingUpdatesUsed": 0}
}`;

/** The typical fulfillment as a JS object (every id in it is exact as a number or a string). */
export function typical() {
  return JSON.parse(TYPICAL_TEXT);
}

const CARRIERS = ["UPS", "Lasership", "Bob's Couriers", "Acme Freight", "Other", "FedEx Home Delivery"];
const NUMBERS = ["1Z999AA10123456784", "1Z5R89390357567127", "TBA123456789012", "9400 1118 9922 3197 4284 90"];

/** `mixed(i)` of `benches/validate.rs`, character for character: new, in sync, unknown carriers, conflicts, expired windows. */
export function mixedText(i) {
  const carrier = CARRIERS[i % 6];
  const number = NUMBERS[i % 4];
  const i5 = String(i).padStart(5, "0");
  const shipped = i % 3 === 0;
  const pkg = shipped
    ? `, "package_id": "11531321681238${i5}", "package_status": "FULFILLING",
               "tracking_number": "1Z999AA10123456784", "shipping_provider_id": "7117859084333745966",
               "rts_time": ${1_795_186_800 - (i % 5) * 40_000}`
    : "";
  const history = shipped && i % 2 === 0
    ? `{"packageId": "11531321681238${i5}", "trackingNumber": "1Z999AA10123456784",
                "shippedAt": "2026-11-2${i % 3}T15:00:00Z", "trackingUpdatesUsed": ${i % 2}}`
    : "null";
  const a = i % 7;
  const b = (i % 7) + 100;
  const q = 1 + (i % 3);
  return `{"fulfillment": {"id": ${5_000_000_000_000 + i}, "status": "success", "tracking_company": "${carrier}",
             "tracking_number": "${number}",
             "line_items": [{"id": 1, "sku": "SKU-${a}", "quantity": 1},
                            {"id": 2, "sku": "SKU-${b}", "quantity": ${q}}]},
            "order": {"id": "57646141303878${i5}", "status": "AWAITING_SHIPMENT",
             "line_items": [{"id": "5770865121237${i5}1", "seller_sku": "SKU-${a}"${pkg}},
                            {"id": "5770865121237${i5}2", "seller_sku": "SKU-${b}"},
                            {"id": "5770865121237${i5}3", "seller_sku": "SKU-${b}"}]},
            "history": ${history}}`;
}

/** The batch as JS objects: `BATCH_SIZE` mixed fulfillments (ids below 2^53 are numbers, the rest strings). */
export function mixedBatch(count = BATCH_SIZE) {
  return Array.from({ length: count }, (_, i) => JSON.parse(mixedText(i)));
}

/** How many reports of each verdict: a cheap check that two runs validated the same thing. */
export function verdictCounts(reports) {
  const counts = { ready: 0, blocked: 0, in_sync: 0 };
  for (const r of reports) counts[r.verdict] = (counts[r.verdict] ?? 0) + 1;
  return counts;
}

// ---------------------------------------------------------------------------------------------------
// The timed suite, the same in Node and in the page: every figure is bounded (a fixed number of rounds,
// each of a bounded number of calls) and reported as the best and the median of its rounds.

/** Milliseconds per call of `f`: `rounds` rounds of `calls` calls, `calls` sized to fill about `roundMs`. */
export function timeIt(f, { rounds = 5, roundMs = 0, maxCalls = 1 } = {}) {
  let start = performance.now();
  f();
  const once = Math.max(performance.now() - start, 0.001);
  const calls = Math.max(1, Math.min(maxCalls, Math.ceil(roundMs / once)));
  const times = [];
  for (let r = 0; r < rounds; r++) {
    start = performance.now();
    for (let c = 0; c < calls; c++) f();
    times.push((performance.now() - start) / calls);
  }
  times.sort((x, y) => x - y);
  return { best: times[0], median: times[Math.floor(times.length / 2)], calls, rounds };
}

/** Scales a `timeIt` answer (ms per call) to µs per item. */
function perItem(t, items) {
  const k = 1000 / items;
  return { best: t.best * k, median: t.median * k, calls: t.calls, rounds: t.rounds };
}

/** Counts the JS values of a JSON-like value (objects, arrays, strings, numbers, …) and its string characters. */
export function census(value) {
  let values = 0;
  let chars = 0;
  let strings = 0;
  const walk = (v) => {
    values += 1;
    if (typeof v === "string") {
      strings += 1;
      chars += v.length;
    } else if (Array.isArray(v)) {
      for (const x of v) walk(x);
    } else if (v && typeof v === "object") {
      for (const k of Object.keys(v)) {
        strings += 1;
        chars += k.length;
        walk(v[k]);
      }
    }
  };
  walk(value);
  return { values, strings, chars };
}

/**
 * A JSON.stringify replacer that marks what JSON cannot carry, as a JS boundary would (the same marking as
 * the package's `src/wasm/boundary.js` at the time of writing): timed to show what a replacer costs.
 */
export function marking(key, value) {
  switch (typeof value) {
    case "number":
      if (!Number.isFinite(value)) return `\u0000js:nonfinite:${value}`;
      return Number.isInteger(value) && !Number.isSafeInteger(value) ? `\u0000js:unsafe:${value}` : value;
    case "bigint":
      return `\u0000js:bigint:${value}`;
    case "function":
    case "symbol":
    case "undefined":
      return `\u0000js:${typeof value}`;
    default:
      return value;
  }
}

/**
 * Times `validate` (typical input) and `validateBatch` (the mixed batch) through `api` ({ Validator,
 * carriers }), and what the JS↔wasm conversion of the same data costs or could cost: reading the batch
 * alone (its last input malformed, so the call throws after reading every input and validating none),
 * building JS values alone (`carriers`), and the JS halves of a JSON-string boundary (`JSON.stringify`,
 * `TextEncoder`, `TextDecoder`, `JSON.parse`) on the same inputs and reports. Answers µs per validation.
 */
export function throughput(api, { log = () => {} } = {}) {
  const validator = new api.Validator(SETTINGS);
  const one = typical();
  for (let i = 0; i < 2_000; i++) validator.validate(one, NOW);
  log("validate");
  const validate = perItem(timeIt(() => validator.validate(one, NOW), { rounds: 7, roundMs: 150, maxCalls: 200_000 }), 1);

  const inputs = mixedBatch();
  const n = inputs.length;
  let reports = validator.validateBatch(inputs, NOW);
  reports = validator.validateBatch(inputs, NOW);
  log("validateBatch");
  const batch = perItem(timeIt(() => validator.validateBatch(inputs, NOW), { rounds: 7 }), n);

  // Reading only: the last input's last field is malformed, so every input is read into Rust values,
  // then the call throws before validating any.
  const broken = inputs.slice();
  broken[n - 1] = { ...inputs[n - 1], history: 42 };
  let thrown;
  const readOnly = () => {
    try {
      validator.validateBatch(broken, NOW);
    } catch (e) {
      thrown = e;
    }
  };
  readOnly();
  log("reading only");
  const read = perItem(timeIt(readOnly, { rounds: 7 }), n);
  const readCheck = thrown ? `${thrown.name} ${thrown.code} at ${thrown.path}` : "did not throw";

  // Building JS values only: the catalog as JS objects, no input read.
  const catalog = api.carriers("US");
  const catalogCensus = census(catalog);
  for (let i = 0; i < 200; i++) api.carriers("US");
  log("carriers");
  const carriersTime = timeIt(() => api.carriers("US"), { rounds: 7, roundMs: 100, maxCalls: 20_000 });
  const reportCensus = census(reports);
  const inputCensus = census(inputs);

  // The JS halves of one JSON string each way, on the same data.
  log("JSON and text coding");
  const inputsText = JSON.stringify({ inputs });
  const reportsText = JSON.stringify(reports);
  const encoder = new TextEncoder();
  const decoder = new TextDecoder();
  const inputBuffer = new Uint8Array(inputsText.length * 3);
  const reportBytes = encoder.encode(reportsText);
  const copyLoop = () => {
    // What wasm-bindgen's passStringToWasm0 does for ASCII: a charCodeAt loop into wasm memory.
    for (let i = 0; i < inputsText.length; i++) inputBuffer[i] = inputsText.charCodeAt(i);
  };
  const js = {
    stringifyInputs: perItem(timeIt(() => JSON.stringify({ inputs }), { rounds: 5 }), n),
    stringifyInputsMarking: perItem(timeIt(() => JSON.stringify({ inputs }, marking), { rounds: 5 }), n),
    encodeIntoReusable: perItem(timeIt(() => encoder.encodeInto(inputsText, inputBuffer), { rounds: 5 }), n),
    encodeFresh: perItem(timeIt(() => encoder.encode(inputsText), { rounds: 5 }), n),
    charCodeLoop: perItem(timeIt(copyLoop, { rounds: 5 }), n),
    decodeReports: perItem(timeIt(() => decoder.decode(reportBytes), { rounds: 5 }), n),
    parseReports: perItem(timeIt(() => JSON.parse(reportsText), { rounds: 5 }), n),
    parseInputs: perItem(timeIt(() => JSON.parse(inputsText), { rounds: 5 }), n),
    stringifyReports: perItem(timeIt(() => JSON.stringify(reports), { rounds: 5 }), n),
    cloneInputs: perItem(timeIt(() => structuredClone(inputs), { rounds: 5 }), n),
    cloneReports: perItem(timeIt(() => structuredClone(reports), { rounds: 5 }), n),
  };
  validator.free();
  return {
    validate,
    batch,
    read,
    readCheck,
    carriers: {
      usPerCall: carriersTime.best * 1000,
      ...catalogCensus,
      nsPerValue: (carriersTime.best * 1e6) / catalogCensus.values,
    },
    perReport: { values: reportCensus.values / n, strings: reportCensus.strings / n, chars: reportCensus.chars / n, jsonBytes: reportBytes.length / n },
    perInput: { values: inputCensus.values / n, strings: inputCensus.strings / n, chars: inputCensus.chars / n, jsonBytes: inputsText.length / n },
    js,
    verdicts: verdictCounts(reports),
    size: n,
  };
}
