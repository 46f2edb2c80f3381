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
