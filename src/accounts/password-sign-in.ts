import { LoginError, type LoginResult, loginWithBrowser } from "../browser/login.js";
import { QwenError } from "../errors.js";
import { signIn } from "../qwen/client.js";
import { DirectTransport } from "../transport/direct.js";
import { accountIdFor } from "./account-pool.js";

export interface PasswordSignInOptions {
  baseUrl: string;
  dataDir: string;
  email: string;
  password: string;
  userAgent?: string;
  onStatus?: (message: string) => void;
  /** Seam for tests: the browser sign-in used when the API way is walled off. */
  browserSignIn?: typeof loginWithBrowser;
}

/**
 * Signs in with e-mail and password: through the API first (`POST /api/v1/auths/signin`, no
 * browser needed, a second at most), and through a headless browser's sign-in page only when
 * the anti-bot wall stands in front of the API. Wrong credentials are final either way.
 */
export async function signInWithPassword(options: PasswordSignInOptions): Promise<LoginResult> {
  const transport = new DirectTransport();
  try {
    const token = await signIn({
      baseUrl: options.baseUrl,
      transport,
      email: options.email,
      password: options.password,
      identity: options.userAgent ? { userAgent: options.userAgent } : undefined,
    });
    return { accountId: accountIdFor(token), token, email: options.email };
  } catch (error) {
    // A 400 is "incorrect" (wrong e-mail or password): final. The API has also refused good
    // credentials with 401 or 405 (§8, pitfall 24), which the sign-in page may still accept.
    if (error instanceof QwenError && error.code === "unauthorized" && error.upstreamStatus === 400) {
      throw new LoginError("credentials", `Qwen refused the e-mail or password: ${error.message}`);
    }
    options.onStatus?.(
      `Signing in through the API did not work (${error instanceof Error ? error.message : String(error)}); trying the sign-in page in a headless browser…`,
    );
  } finally {
    await transport.close();
  }
  return (options.browserSignIn ?? loginWithBrowser)({
    baseUrl: options.baseUrl,
    dataDir: options.dataDir,
    headless: true,
    email: options.email,
    password: options.password,
    userAgent: options.userAgent,
    onStatus: options.onStatus,
  });
}
