// Writes a JS value as JSON for the engine in one native call. A BigInt, which JSON.stringify refuses,
// is written as a mark the engine reads exactly (src/json.rs); integers past 2^53 need no mark: in this
// JSON they can only come from rounded JS numbers, and the engine refuses them as such.

function markBigInt(key, value) {
  return typeof value === "bigint" ? `\u0000js:bigint:${value}` : value;
}

export function toJson(value) {
  try {
    return JSON.stringify(value);
  } catch (error) {
    if (!(error instanceof TypeError)) throw error;
    return JSON.stringify(value, markBigInt);
  }
}
