// Uses the widget's package entry as its TypeScript types describe it (checked by `tsc --strict`).

import { FulfillmentPreflight, mount, type MountOptions, type Widget } from "../../pkg/widget/element.js";

const options: MountOptions = {
  apiBase: "https://preflight.example.com",
  getToken: async () => "token",
  timeoutMs: 10_000,
};
const noBase: MountOptions = { getToken: () => "token" };

export async function show(element: HTMLElement): Promise<Widget> {
  const widget = await mount(element, options);
  widget.reload();
  return widget;
}

export function unmount(widget: Widget): void {
  widget.unmount();
  widget.free();
}

export function configure(element: FulfillmentPreflight): void {
  element.getToken = noBase.getToken;
  element.setAttribute("api-base", "");
}

// @ts-expect-error: getToken is required
const missing: MountOptions = { apiBase: "" };
void missing;
