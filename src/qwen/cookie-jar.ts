/**
 * The cookies one account sends besides `token`: pasted from a browser's DevTools (S5, S7
 * accept a whole `Cookie` header: `cna`, `ssxmod_itna`, WAF cookies…) and kept up to date from
 * upstream's `Set-Cookie` answers, as a browser would. All go to the one upstream origin, so
 * names are the only key; the token itself is managed apart and never taken from here.
 */
export class CookieJar {
  readonly #cookies = new Map<string, string>();

  constructor(initial: Record<string, string> = {}) {
    for (const [name, value] of Object.entries(initial)) this.set(name, value);
  }

  set(name: string, value: string): void {
    if (!isCookieName(name) || name === "token") return;
    this.#cookies.set(name, value);
  }

  /** Applies `Set-Cookie` lines: a new value, or removal when it has already expired. */
  applySetCookie(lines: readonly string[], now = Date.now()): void {
    for (const line of lines) {
      const [pair = "", ...attributes] = line.split(";");
      const equals = pair.indexOf("=");
      if (equals <= 0) continue;
      const name = pair.slice(0, equals).trim();
      const value = pair.slice(equals + 1).trim();
      if (name === "token" || !isCookieName(name)) continue;
      if (isExpired(attributes, now) || value === "") this.#cookies.delete(name);
      else this.#cookies.set(name, value);
    }
  }

  toRecord(): Record<string, string> {
    return Object.fromEntries(this.#cookies);
  }

  get size(): number {
    return this.#cookies.size;
  }
}

/** `a=1; b=2` as name → value; the `token` cookie is returned apart. */
export function parseCookieHeader(header: string): { token?: string; cookies: Record<string, string> } {
  const cookies: Record<string, string> = {};
  let token: string | undefined;
  for (const part of header.replace(/^cookie:\s*/i, "").split(";")) {
    const equals = part.indexOf("=");
    if (equals <= 0) continue;
    const name = part.slice(0, equals).trim();
    const value = part.slice(equals + 1).trim();
    if (!isCookieName(name)) continue;
    if (name === "token") token = value;
    else cookies[name] = value;
  }
  return { token, cookies };
}

function isCookieName(name: string): boolean {
  return /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(name);
}

function isExpired(attributes: string[], now: number): boolean {
  for (const attribute of attributes) {
    const [key = "", ...rest] = attribute.split("=");
    const value = rest.join("=").trim();
    const lower = key.trim().toLowerCase();
    if (lower === "max-age") {
      const seconds = Number(value);
      if (Number.isFinite(seconds) && seconds <= 0) return true;
    }
    if (lower === "expires") {
      const at = Date.parse(value);
      if (!Number.isNaN(at) && at <= now) return true;
    }
  }
  return false;
}
