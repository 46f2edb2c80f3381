// <fulfillment-preflight>: loads the widget's wasm once and mounts it in the element.
//
//   <fulfillment-preflight api-base="https://preflight.example.com"></fulfillment-preflight>
//   element.getToken = () => shopify.idToken();   // App Bridge: a fresh session token per request
//
// Without a `getToken`, App Bridge's `shopify.idToken()` is used when the page has it.
import init, { mount as mountWidget } from "./pkg/widget/preflight_widget.js";

let loading = null;

/** Loads and compiles the widget's wasm, once per page. */
function load() {
  loading ??= init();
  return loading;
}

/** Adds the widget's stylesheet to the document, unless the page links it already. */
function addStylesheet() {
  const href = new URL("./preflight.css", import.meta.url).href;
  const links = document.querySelectorAll("link[rel=stylesheet]");
  if ([...links].some((link) => link.href === href)) return;
  const link = document.createElement("link");
  link.rel = "stylesheet";
  link.href = href;
  document.head.append(link);
}

/** Mounts the widget in `element` for hosts without custom elements; `unmount()` frees it. */
export async function mount(element, options) {
  await load();
  addStylesheet();
  return mountWidget(element, options);
}

export class FulfillmentPreflight extends HTMLElement {
  static observedAttributes = ["api-base", "timeout-ms"];

  #getToken = null;
  #widget = null;
  #generation = 0;

  get getToken() {
    return this.#getToken;
  }

  set getToken(fn) {
    this.#getToken = fn;
    if (this.isConnected) this.#mount();
  }

  connectedCallback() {
    // A `getToken` set before the element was defined shadows the accessor: move it behind it.
    if (Object.hasOwn(this, "getToken")) {
      const fn = this.getToken;
      delete this.getToken;
      this.#getToken = fn;
    }
    this.#mount();
  }

  disconnectedCallback() {
    this.#generation++;
    this.#unmount();
  }

  attributeChangedCallback() {
    if (this.isConnected) this.#mount();
  }

  #unmount() {
    if (this.#widget) {
      this.#widget.unmount();
      this.#widget.free();
      this.#widget = null;
    }
  }

  async #mount() {
    const generation = ++this.#generation;
    addStylesheet();
    await load();
    if (generation !== this.#generation || !this.isConnected) return;
    this.#unmount();
    const appBridge = globalThis.shopify?.idToken ? () => globalThis.shopify.idToken() : null;
    const getToken = this.#getToken ?? appBridge;
    if (!getToken) return;
    const timeout = Number(this.getAttribute("timeout-ms"));
    this.#widget = mountWidget(this, {
      apiBase: this.getAttribute("api-base") ?? "",
      getToken: () => getToken(),
      ...(timeout > 0 ? { timeoutMs: timeout } : {}),
    });
  }
}

if (!customElements.get("fulfillment-preflight")) {
  customElements.define("fulfillment-preflight", FulfillmentPreflight);
}
