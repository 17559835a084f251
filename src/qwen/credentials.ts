/** What authenticates one account's requests. */
export interface QwenCredentials {
  /** The JWT from localStorage `token`; sent as Bearer and as the `token` cookie. */
  token: string;
  /** Other cookies harvested from the browser (WAF clearance, ssxmod_*, cna…). */
  cookies?: Record<string, string>;
  /** Anti-bot headers captured from a real page (`bx-ua`, `bx-umidtoken`). */
  extraHeaders?: Record<string, string>;
}

/** Credentials may change (token refresh, new WAF cookies), so they are read per request. */
export type CredentialsSource = QwenCredentials | (() => QwenCredentials | Promise<QwenCredentials>);

export async function readCredentials(source: CredentialsSource): Promise<QwenCredentials> {
  return typeof source === "function" ? await source() : source;
}

export function cookieHeader(credentials: QwenCredentials): string {
  const jar: Record<string, string> = { ...credentials.cookies, token: credentials.token };
  return Object.entries(jar)
    .map(([name, value]) => `${name}=${value}`)
    .join("; ");
}
