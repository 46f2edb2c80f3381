//! The TypeScript types of the JS API's inputs, outputs and errors, written into the package's `.d.ts`.
//! They mirror the Rust types; `tests/js/api.ts` is compiled against them with `tsc --strict`.

use wasm_bindgen::prelude::*;

#[wasm_bindgen(typescript_custom_section)]
const TYPES: &'static str = r#"
/** A TikTok Shop market the catalog covers (`GB` reads as `UK`). */
export type Region = "US" | "UK" | "GB";

/** Shopify carrier name → TikTok Shop provider name or id. `from: "*"` is the default mapping. */
export interface CarrierMapping { from: string; to: string; }

/** A provider of the order's delivery option, as Get Shipping Providers returns it. */
export interface ShippingProvider { id: string; name?: string; }

/** The tracking-update policy. */
export interface Policy {
  /** Hours after shipping during which the tracking number may change (72). */
  updateWindowHours?: number;
  /** How many times it may change (1). */
  maxTrackingUpdates?: number;
  /** Deprecated: `false` applies the USPS label rule whatever the date; use `ruleOverrides`. */
  allowUspsSelfShipping?: boolean;
}

/** Local or cross-border, as Get Authorized Shops says (`seller_type`). */
export type SellerType = "LOCAL" | "CROSS_BORDER";

/** The id of a dated platform rule. */
export type PlatformRule = "usps_labels_via_tiktok_shipping";

/** A shop's settings. Unknown fields are errors. */
export interface Settings {
  region: Region;
  /** `LOCAL` when absent. */
  sellerType?: SellerType;
  carrierMappings?: CarrierMapping[];
  shippingProviders?: ShippingProvider[] | null;
  /** Each delivery option's providers, by delivery option id: an order of a listed option accepts only those. */
  deliveryOptionProviders?: { [deliveryOptionId: string]: ShippingProvider[] | null };
  policy?: Policy;
  /** Rules switched on (`true`) or off (`false`, an exception) for this shop, whatever the date. */
  ruleOverrides?: { [rule in PlatformRule]?: boolean };
}

/** An id as Shopify or TikTok Shop sends it; past 2^53 send a string or a bigint. */
export type Id = string | number | bigint;

/** A Shopify fulfillment line item (REST / webhook shape). */
export interface ShopifyRestLineItem {
  id?: Id | null; variant_id?: Id | null; sku?: string | null; quantity: number; name?: string | null;
  [field: string]: unknown;
}

/** A Shopify fulfillment in its REST / webhook shape (`fulfillments/create|update`). */
export interface ShopifyRestFulfillment {
  id: Id; order_id?: Id | null; name?: string | null; status?: string | null;
  tracking_company?: string | null; tracking_number?: string | null; tracking_numbers?: (string | null)[] | null;
  created_at?: string | null; line_items: ShopifyRestLineItem[];
  [field: string]: unknown;
}

/** A Shopify GraphQL fulfillment line item. */
export interface ShopifyGraphQlLineItem {
  quantity: number;
  lineItem?: { id?: Id | null; sku?: string | null; name?: string | null;
               variant?: { id?: Id | null; sku?: string | null } | null } | null;
  [field: string]: unknown;
}

/** A Shopify fulfillment in its GraphQL shape. */
export interface ShopifyGraphQlFulfillment {
  id: string; status?: string | null; createdAt?: string | null;
  trackingInfo?: { company?: string | null; number?: string | null; url?: string | null }[] | null;
  fulfillmentLineItems: ShopifyGraphQlLineItem[]
    | { edges?: { node: ShopifyGraphQlLineItem }[]; nodes?: ShopifyGraphQlLineItem[] };
  order?: { id?: Id | null } | null;
  [field: string]: unknown;
}

/** A TikTok Shop unit line item (Order Detail). */
export interface TtsLineItem {
  id: Id; sku_id?: Id | null; seller_sku?: string | null; product_name?: string | null;
  display_status?: string | null; package_id?: Id | null;
  package_status?: "TO_FULFILL" | "PROCESSING" | "FULFILLING" | "COMPLETED" | "CANCELLED" | string | null;
  tracking_number?: string | null; shipping_provider_id?: Id | null; shipping_provider_name?: string | null;
  rts_time?: number | null; cancel_user?: string | null;
  /** A virtual bundle's unit: the SKUs it stands for. */
  combined_listing_skus?: { sku_id?: Id | null; seller_sku?: string | null; sku_count?: number | null;
                            [field: string]: unknown }[] | null;
  [field: string]: unknown;
}

/** A TikTok Shop order in its Order Detail shape. */
export interface TtsOrder {
  id: Id;
  status?: "UNPAID" | "ON_HOLD" | "AWAITING_SHIPMENT" | "PARTIALLY_SHIPPING" | "AWAITING_COLLECTION"
    | "IN_TRANSIT" | "DELIVERED" | "COMPLETED" | "CANCELLED" | string | null;
  fulfillment_type?: "FULFILLMENT_BY_SELLER" | "FULFILLMENT_BY_TIKTOK" | string | null;
  shipping_type?: "SELLER" | "TIKTOK" | string | null;
  delivery_option_id?: Id | null;
  is_buyer_request_cancel?: boolean | null; is_on_hold_order?: boolean | null;
  rts_sla_time?: number | null; shipping_due_time?: number | null;
  line_items?: TtsLineItem[] | null; packages?: { id: Id; [field: string]: unknown }[] | null;
  [field: string]: unknown;
}

/** What was already pushed for a fulfillment. Unknown fields are errors. */
export interface History {
  packageId?: Id | null; shippingProviderId?: Id | null; trackingNumber?: string | null;
  shippedAt?: string | null; trackingUpdatesUsed?: number;
}

/** What Get Tracking Validation answered for a tracking number. Unknown fields are errors. */
export interface TrackingValidation { trackingNumber: string; isTiktokShipping: boolean; }

/** One fulfillment to check. */
export interface Input {
  fulfillment: ShopifyRestFulfillment | ShopifyGraphQlFulfillment;
  order: TtsOrder;
  history?: History | null;
  trackingValidation?: TrackingValidation | null;
}

export type Verdict = "ready" | "blocked" | "in_sync";
export type Action = "ship" | "update_tracking" | "none";
export type Severity = "error" | "warning" | "info";
export type Rule = "carrier" | "tracking" | "tracking_policy" | "line_items" | "order";

/** Every diagnostic code. */
export type DiagnosticCode =
  | "carrier.not_integrated" | "carrier.other_region" | "carrier.not_in_delivery_option" | "carrier.missing" | "carrier.ambiguous"
  | "carrier.inferred_from_tracking_number" | "carrier.usps_self_shipping_not_allowed"
  | "tracking.missing" | "tracking.whitespace_removed" | "tracking.too_long" | "tracking.separators_removed"
  | "tracking.invalid_characters" | "tracking.extra_text" | "tracking.unknown_format"
  | "tracking.invalid_check_digit" | "tracking.carrier_mismatch" | "tracking.multiple_numbers"
  | "tracking.duplicate" | "tracking.update_limit_reached" | "tracking.update_window_expired"
  | "tracking.only_update_left" | "tracking.update_after_delivery" | "tracking.shipped_at_unknown"
  | "line_items.already_fulfilled" | "line_items.not_in_order" | "line_items.quantity_exceeds_remaining"
  | "line_items.cancelled" | "line_items.empty" | "line_items.after_sale_request" | "line_items.sku_split"
  | "line_items.bundle_incomplete"
  | "order.cancelled" | "order.unpaid" | "order.on_hold" | "order.cancellation_requested"
  | "order.fulfilled_by_tiktok" | "order.shipped_by_tiktok" | "order.dispatch_late"
  | "order.dispatch_due_soon" | "order.auto_cancel_due" | "fulfillment.not_successful";

export interface ProviderRef { id: string; name: string; }
export interface PackageRef { packageId: string; trackingNumber: string | null; lineItemIds: string[]; }

/** The specifics of a diagnostic; which shape depends on the code. */
export type DiagnosticData =
  | { carrier: string; suggestions: ProviderRef[] }
  | { provider: ProviderRef }
  | { trackingNumber: string; carriers: string[] }
  | { shippedAt: string | null; deadline: string | null; updatesUsed: number; maxUpdates: number;
      currentTrackingNumber: string | null }
  | { packages: PackageRef[] }
  | { sku: string; requested: number; remaining: number }
  | { status: string }
  | { trackingNumber: string; cleaned: string | null }
  | { deadline: string }
  | { rule: PlatformRule; from: string | null; source: string | null };

export interface Diagnostic {
  code: DiagnosticCode; severity: Severity; rule: Rule;
  /** Why, for the merchant. */
  reason: string;
  /** What to do, for the merchant. */
  solution: string;
  field: string | null;
  data: DiagnosticData | null;
  /** The TikTok Shop error codes this predicts. */
  ttsErrorCodes: string[];
}

export interface Plan {
  action: Action; packageId: string | null; lineItemIds: string[];
  shippingProviderId: string | null; shippingProviderName: string | null; trackingNumber: string | null;
}

export interface Report {
  fulfillmentId: string; verdict: Verdict; plan: Plan; diagnostics: Diagnostic[];
  /** RFC 3339, UTC. */
  updateDeadline: string | null;
}

/** A TikTok Shop provider of a region. */
export interface Carrier { id: string; name: string; aliases: string[]; }

export type InputErrorCode =
  | "input.malformed_json" | "input.too_deep" | "input.too_large" | "input.invalid_type" | "input.invalid_value"
  | "input.missing_field" | "input.unknown_field" | "input.invalid_timestamp" | "input.unknown_region"
  | "input.unknown_provider" | "input.imprecise_id";

/** What every API function throws for malformed input. */
export interface PreflightError extends Error {
  name: "PreflightError";
  code: InputErrorCode;
  /** The bad field, like `fulfillment.line_items[2].quantity`; empty for the whole value. */
  path: string;
  /** The message without the path. */
  detail: string;
}
"#;
