// Synthetic fulfillments for the widget's benchmark and its render test: `n` rows, as
// `GET /api/fulfillments` answers them, across ready, failing and synced cases.

export const SETTINGS = {
  region: "US",
  sellerType: "LOCAL",
  carrierMappings: [],
  shippingProviders: null,
  deliveryOptionProviders: {},
  policy: { updateWindowHours: 72, maxTrackingUpdates: 1 },
  ruleOverrides: {},
};

const CASES = [
  { carrier: "UPS", number: "1Z999AA10123456784", status: "not_synced" },
  { carrier: "Bob's Local Courier", number: "1Z999AA10123456784", status: "not_synced" },
  { carrier: "USPS", number: "9400111202555842332669", status: "synced" },
  { carrier: "FedEx", number: "449044304137821", status: "sync_failed" },
  { carrier: "UPS", number: "1Z999AA10123456785", status: "not_synced" },
];

/** The `i`-th fulfillment (ids from 6000000000000). */
export function item(i) {
  const c = CASES[i % CASES.length];
  const id = String(6_000_000_000_000 + i);
  return {
    id,
    fulfillment: {
      id: Number(id),
      order_id: 7_000_000_000_000 + i,
      name: `#${2000 + i}.1`,
      status: "success",
      tracking_company: c.carrier,
      tracking_number: c.number,
      tracking_numbers: [c.number],
      tracking_url: `https://example.com/track/${c.number}`,
      created_at: "2026-11-24T08:00:00Z",
      updated_at: "2026-11-24T08:00:00Z",
      line_items: [
        { id: 100 + i, variant_id: 200 + i, sku: `SKU-${i}`, name: `Merino wool beanie ${i}`, quantity: 1 },
        { id: 300 + i, variant_id: 400 + i, sku: `MUG-${i}`, name: "Enamel camp mug", quantity: 2 },
      ],
    },
    order: {
      id: String(576_000_000_000_000_000n + BigInt(i)),
      status: "AWAITING_SHIPMENT",
      fulfillment_type: "FULFILLMENT_BY_SELLER",
      shipping_type: "SELLER",
      line_items: [
        { id: `a${i}`, seller_sku: `SKU-${i}` },
        { id: `b${i}`, seller_sku: `MUG-${i}` },
        { id: `c${i}`, seller_sku: `MUG-${i}` },
      ],
    },
    history: null,
    report: null,
    syncStatus: c.status,
    failure: c.status === "sync_failed"
      ? { code: "21011022", reason: "The shipping provider is not offered for this order.", solution: "Fix what TikTok Shop reports, then sync again." }
      : null,
    latestPush: null,
    updatedAt: "2026-11-24T08:00:00Z",
  };
}

/** Serves `n` rows through Playwright's routing, in pages as the sync API does. */
export async function routeRows(page, n, now = new Date().toISOString()) {
  const items = Array.from({ length: n }, (_, i) => item(i));
  await page.route("**/api/settings", (route) =>
    route.fulfill({ status: 200, contentType: "application/json", body: JSON.stringify(SETTINGS) }));
  await page.route("**/api/fulfillments?*", (route) => {
    const url = new URL(route.request().url());
    const limit = Number(url.searchParams.get("limit") ?? 50);
    const start = Number(url.searchParams.get("cursor") ?? 0);
    const slice = items.slice(start, start + limit);
    const next = start + limit < items.length ? String(start + limit) : null;
    route.fulfill({
      status: 200,
      contentType: "application/json",
      body: JSON.stringify({ items: slice, nextCursor: next, now }),
    });
  });
}
