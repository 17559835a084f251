import { clearanceCookieName, clearanceLifetimeSeconds } from "./browser-surface.js";

// The HTML a real browser gets from the fake: the sign-in page, the chat SPA shell and the
// slider-captcha interstitial. Everything is inline (no CDN, no bundles) because the browser
// under test has no network beyond the fake. The scripts are plain browser JavaScript kept
// in template strings; they only call same-origin endpoints, so no CORS is involved.

const baseStyles = `
  body { font-family: system-ui, sans-serif; margin: 0; background: #f7f7f8; color: #1f2328; }
  main { max-width: 28rem; margin: 4rem auto; padding: 2rem; background: #fff; border-radius: 0.75rem; }
  label { display: block; margin: 1rem 0 0.25rem; }
  input, textarea { width: 100%; box-sizing: border-box; padding: 0.5rem; font: inherit; }
  button { margin-top: 1.25rem; padding: 0.5rem 1.5rem; font: inherit; }
  .login-error { color: #b42318; margin-top: 1rem; }
`;

/**
 * Sets the WAF clearance cookie the way Aliyun's acw_sc__v3 script does: computed in the
 * page. The value never appears verbatim in the HTML, so a plain HTTP client that merely
 * reads the page does not pass the bot wall; only one that runs the script does.
 */
function clearanceScript(clearance: string): string {
  const scrambled = [...clearance].reverse().join("");
  return `<script>
(() => {
  const scrambled = "${scrambled}";
  const value = scrambled.split("").reverse().join("");
  document.cookie = "${clearanceCookieName}=" + value + "; path=/; max-age=${clearanceLifetimeSeconds}; SameSite=Lax";
})();
</script>`;
}

function pageDocument(parts: {
  title: string;
  head?: string;
  bodyAttributes?: string;
  body: string;
  script?: string;
}): string {
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${parts.title}</title>
<link rel="icon" href="data:,">
<style>${baseStyles}</style>
${parts.head ?? ""}
</head>
<body${parts.bodyAttributes ?? ""}>
${parts.body}
${parts.script ? `<script>\n${parts.script}\n</script>` : ""}
</body>
</html>
`;
}

const signinScript = `
const form = document.getElementById("signin-form");
const emailInput = document.getElementById("username");
const passwordInput = document.getElementById("password");
const submitButton = document.getElementById("signin-submit");

function showError(text) {
  let errorElement = document.querySelector(".login-error");
  if (!errorElement) {
    errorElement = document.createElement("p");
    errorElement.className = "login-error";
    errorElement.setAttribute("role", "alert");
    form.appendChild(errorElement);
  }
  errorElement.textContent = text;
}

async function sha256Hex(text) {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return Array.from(new Uint8Array(digest), (byte) => byte.toString(16).padStart(2, "0")).join("");
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const email = emailInput.value.trim();
  // Enter in the e-mail field moves on to the password instead of failing (two-step flows).
  if (passwordInput.value === "") {
    passwordInput.focus();
    return;
  }
  if (!window.crypto || !crypto.subtle) {
    showError("This page needs a secure context (open it via 127.0.0.1 or localhost).");
    return;
  }
  submitButton.disabled = true;
  try {
    const password = await sha256Hex(passwordInput.value);
    const response = await fetch("/api/v1/auths/signin", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ email, password }),
    });
    const body = await response.json().catch(() => null);
    if (!response.ok || !body || typeof body.token !== "string") {
      const detail = body && typeof body.detail === "string" ? body.detail : "HTTP " + response.status;
      showError("Sign-in failed: " + detail);
      return;
    }
    localStorage.setItem("token", body.token);
    localStorage.setItem("user_info", JSON.stringify({ email: body.email, nickname: body.name }));
    document.cookie = "token=" + body.token + "; path=/; max-age=" + 30 * 24 * 3600 + "; SameSite=Lax";
    location.href = "/";
  } catch (error) {
    showError("Sign-in failed: " + error);
  } finally {
    submitButton.disabled = false;
  }
});
`;

export function signinPage(clearance: string): string {
  return pageDocument({
    title: "Sign in - Qwen Chat",
    head: clearanceScript(clearance),
    body: `<main class="auth-page">
<h1>Sign in to Qwen Chat</h1>
<form id="signin-form" method="post" action="/auth?action=signin" novalidate>
<label for="username">Email</label>
<input type="email" id="username" name="email" autocomplete="username" required>
<label for="password">Password</label>
<input type="password" id="password" name="password" autocomplete="current-password" required>
<button type="submit" id="signin-submit">Sign in</button>
</form>
</main>`,
    script: signinScript,
  });
}

// The real SPA decides signed-in or not from localStorage on the client, after the HTML has
// loaded, so the fake does the same: neither outcome is in the HTML, `body[data-state]`
// moves from "loading" to "chat" or "signed-out" once the token has been checked.
const chatShellScript = `
const app = document.getElementById("app");

function showSignedOut() {
  const container = document.createElement("div");
  container.className = "login-container";
  const heading = document.createElement("h1");
  heading.textContent = "Welcome to Qwen Chat";
  const link = document.createElement("a");
  link.href = "/auth?action=signin";
  link.className = "login-link";
  link.textContent = "Log in";
  container.append(heading, link);
  app.replaceChildren(container);
  document.body.dataset.state = "signed-out";
}

function showChat(user) {
  const container = document.createElement("div");
  container.className = "chat-container";
  const ready = document.createElement("p");
  ready.id = "chat-ready";
  ready.textContent = user.email;
  const input = document.createElement("textarea");
  input.id = "chat-input";
  input.placeholder = "How can I help you today?";
  container.append(ready, input);
  app.replaceChildren(container);
  document.body.dataset.state = "chat";
}

const token = localStorage.getItem("token");
// Without a stored token the token cookie, if any, still goes along with the request.
const headers = token ? { authorization: "Bearer " + token } : {};
fetch("/api/v1/auths/", { headers, credentials: "same-origin" })
  .then((response) => (response.ok ? response.json() : null))
  .then((user) => (user && typeof user.email === "string" ? showChat(user) : showSignedOut()))
  .catch(() => showSignedOut());
`;

export function chatShellPage(clearance: string): string {
  return pageDocument({
    title: "Qwen Chat",
    head: clearanceScript(clearance),
    bodyAttributes: ' data-state="loading"',
    body: `<div id="app"><p id="app-loading">Loading…</p></div>`,
    script: chatShellScript,
  });
}

/** The slider-captcha interstitial. It grants no clearance: a human would have to solve it. */
export function verificationPage(): string {
  return pageDocument({
    title: "Verification - 安全验证",
    body: `<main class="verification-page" id="aliyun_waf_aa">
<h1>滑块验证</h1>
<p>请按住滑块，拖动到最右边 / Please slide to verify that you are human.</p>
<div id="nc_1_wrapper" class="nc-container">
<div class="nc_scale"><span id="nc_1_n1z" class="nc_iconfont btn_slide">&gt;&gt;</span>
<span class="nc-lang-cnt">请按住滑块，拖动到最右边</span></div>
</div>
</main>`,
  });
}
