// Uses the package's API as its TypeScript types describe it; `tsc --noEmit --strict` checks it in the
// tests, so a type that drifts from the API or from the JSON form breaks the build.

import init, {
  carriers, version, Validator,
  type Carrier, type Diagnostic, type DiagnosticCode, type Input, type PreflightError, type Report,
  type Settings,
} from "../../pkg/node.js";

await init();

const settings: Settings = {
  region: "US",
  carrierMappings: [{ from: "Other", to: "UniUni" }, { from: "*", to: "7117858858072016686" }],
  shippingProviders: [{ id: "7117858858072016686", name: "USPS" }],
  sellerType: "CROSS_BORDER",
  policy: { updateWindowHours: 72, maxTrackingUpdates: 1 },
  ruleOverrides: { usps_labels_via_tiktok_shipping: false },
};

const rest: Input = {
  fulfillment: {
    id: 5012345678901234567n, order_id: "6123456789012345678", status: "success",
    tracking_company: "UPS", tracking_number: "1Z999AA10123456784", created_at: "2026-11-20T10:00:00-05:00",
    line_items: [{ id: 1, variant_id: "45123456789012", sku: "MUG", quantity: 2, title: "extra fields are fine" }],
  },
  order: {
    id: "5764614130387857521", status: "AWAITING_SHIPMENT", shipping_type: "SELLER",
    line_items: [{ id: "5764614130387860101", seller_sku: "MUG", package_status: "TO_FULFILL", rts_time: 1795500000 }],
  },
  history: { packageId: "1153132168123859001", shippedAt: "2026-11-20T10:00:00Z", trackingUpdatesUsed: 0 },
  trackingValidation: { trackingNumber: "1Z999AA10123456784", isTiktokShipping: false },
};

const graphql: Input = {
  fulfillment: {
    id: "gid://shopify/Fulfillment/1", createdAt: "2026-11-20T10:00:00Z",
    trackingInfo: [{ company: "FedEx", number: "123456789012", url: null }],
    fulfillmentLineItems: { edges: [{ node: { quantity: 1, lineItem: { sku: "MUG", variant: { id: "gid://shopify/ProductVariant/9" } } } }] },
  },
  order: { id: "1", line_items: [] },
};

const validator = new Validator(settings);
const report: Report = validator.validate(rest, "2026-11-24T12:00:00Z");
const reports: Report[] = validator.validateBatch([rest, graphql], new Date());
validator.validate(graphql);
validator.setCarrierMappings([{ from: "Acme", to: "UPS" }]);

function describe(d: Diagnostic): string {
  const code: DiagnosticCode = d.code;
  const where = d.field ?? "the fulfillment";
  return `${d.severity} ${code} at ${where}: ${d.reason} ${d.solution} (${d.ttsErrorCodes.join(", ")})`;
}

const verdict: "ready" | "blocked" | "in_sync" = report.verdict;
const deadline: string | null = report.updateDeadline;
const ids: string[] = report.plan.lineItemIds;
const lines: string[] = reports.flatMap((r) => r.diagnostics.map(describe));
const us: Carrier[] = carriers("US");
const firstAlias: string | undefined = us[0]?.aliases[0];
const v: string = version();

try {
  new Validator({ region: "US" }).validate(rest);
} catch (e) {
  const error = e as PreflightError;
  const message: string = `${error.name} ${error.code} at ${error.path}: ${error.detail}`;
  void message;
}

// @ts-expect-error: settings need a region
new Validator({});
// @ts-expect-error: a verdict is one of three words
const wrong: Report["verdict"] = "maybe";

void [verdict, deadline, ids, lines, firstAlias, v, wrong];
