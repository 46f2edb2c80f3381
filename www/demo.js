// The demo page: session tokens from the demo server, as App Bridge's `shopify.idToken()` gives them,
// and the "Change at TikTok Shop" control (`POST /demo/tiktok-changes`, demo mode only).
import "./fulfillment-preflight.js";

const element = document.querySelector("fulfillment-preflight");
async function token() {
  const response = await fetch("/demo/token");
  if (!response.ok) throw new Error(`the demo token answered ${response.status}`);
  return (await response.json()).token;
}
element.getToken = token;

const form = document.querySelector(".demo-tts-form");
const select = form.elements.fulfillment;
const result = form.querySelector(".demo-tts-result");

/** The linked fulfillments, as options named after them. */
async function fillOrders() {
  const response = await fetch("/api/fulfillments?limit=250", {
    headers: { authorization: `Bearer ${await token()}` },
  });
  if (!response.ok) throw new Error(`the list answered ${response.status}`);
  const { items } = await response.json();
  for (const item of items) {
    if (item.link?.state !== "linked") continue;
    const option = document.createElement("option");
    option.value = item.id;
    option.textContent = item.fulfillment.name;
    select.append(option);
  }
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const change = event.submitter?.value;
  const name = ["deauthorize", "expiring"].includes(change) ? "The shop" : select.selectedOptions[0]?.textContent ?? "";
  result.textContent = "Sending…";
  try {
    const response = await fetch("/demo/tiktok-changes", {
      method: "POST",
      headers: { authorization: `Bearer ${await token()}`, "content-type": "application/json" },
      body: JSON.stringify({ fulfillmentId: select.value, change }),
    });
    const body = await response.json();
    result.textContent = response.ok
      ? `${name}: done at TikTok Shop; webhook ${body.notificationId} sent.`
      : `${name}: ${body.error?.message ?? response.status} (${body.error?.code ?? "error"})`;
  } catch (e) {
    result.textContent = `${name}: ${e.message}`;
  }
});

fillOrders().catch((e) => {
  result.textContent = `Orders could not be listed: ${e.message}`;
});
