import { chatShellPage, signinPage, verificationPage } from "../browser-pages.js";
import { sendText } from "../http-replies.js";
import type { RequestContext } from "../request-context.js";

// The HTML routes a browser loads (§2.2): `/auth?action=signin`, and the SPA shell at `/`,
// `/c/new-chat` and `/c/<id>`. While verification is switched on every one of them answers
// the captcha interstitial instead, which is how the real site interrupts a login.

export function handleSigninPage(context: RequestContext): void {
  sendPage(context, signinPage);
}

export function handleChatShellPage(context: RequestContext): void {
  sendPage(context, chatShellPage);
}

function sendPage(context: RequestContext, render: (clearance: string) => string): void {
  const surface = context.browserSurface;
  surface.pageLoads += 1;
  const html = surface.verificationEnabled ? verificationPage() : render(surface.issueClearance());
  // Every load must reach the fake, so that each one mints a fresh clearance and is counted.
  context.response.setHeader("cache-control", "no-store");
  sendText(context.response, 200, "text/html; charset=utf-8", html);
}
