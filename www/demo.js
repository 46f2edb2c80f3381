// The demo page: session tokens from the demo server, as App Bridge's `shopify.idToken()` gives them.
import "./fulfillment-preflight.js";

const element = document.querySelector("fulfillment-preflight");
element.getToken = async () => {
  const response = await fetch("/demo/token");
  if (!response.ok) throw new Error(`the demo token answered ${response.status}`);
  const { token } = await response.json();
  return token;
};
