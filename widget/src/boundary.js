// What the widget asks of the page's DOM and of the host's callbacks, in functions that never throw
// (an exception that crossed into the module would unwind past Rust frames that never finish). The
// engine's own boundary (src/wasm/boundary.js) reads the values it validates.

const apply = Reflect.apply;
const isPrototypeOf = Object.prototype.isPrototypeOf;

// The DOM's own getter, called on the element itself: a look-alike or a Proxy of an element has no
// document.
const ownerDocument = Object.getOwnPropertyDescriptor(Node.prototype, "ownerDocument")?.get;
const HTMLElementPrototype = HTMLElement.prototype;

// The document of a real HTML element, or null.
export function documentOf(element) {
  try {
    return apply(isPrototypeOf, HTMLElementPrototype, [element]) ? apply(ownerDocument, element, []) : null;
  } catch {
    return null;
  }
}

// A native promise of `value`: a caller's promise or thenable is followed without calling anything of
// it now (a `then` that throws rejects the promise instead of throwing here).
export function settle(value) {
  return new Promise((resolve) => resolve(value));
}
