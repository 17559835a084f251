import { type Config, ConfigError, type ConfigInput, loadConfig } from "../config/config.js";
import { type RunningServer, startServer } from "../server/create-server.js";

export interface ServeFlags {
  port?: string;
  host?: string;
  insecureNoAuth?: boolean;
}

export function configFromFlags(flags: ServeFlags, extra: Partial<ConfigInput> = {}): Config {
  return loadConfig({
    port: flags.port,
    host: flags.host,
    insecureNoAuth: flags.insecureNoAuth || undefined,
    ...extra,
  });
}

/** Starts the server and keeps it until SIGINT/SIGTERM, then shuts down gracefully. */
export async function serve(
  config: Config,
  banner: string[] = [],
  afterClose: () => Promise<void> = async () => {},
): Promise<RunningServer> {
  const server = await startServer(config);
  const accounts = server.context.accounts.size;
  const lines = [
    `FreeQwenApi ${server.context.version} listening on ${server.url}`,
    `  OpenAI base URL: ${server.url}/v1`,
    `  Upstream: ${config.qwenBaseUrl}`,
    accounts > 0
      ? `  Accounts: ${accounts}`
      : "  Accounts: none yet. Run `npm start -- login` (or set QWEN_TOKENS) and restart.",
    config.apiKeys.length > 0
      ? `  API keys: ${config.apiKeys.length} configured`
      : "  API keys: none (loopback only)",
    ...banner,
  ];
  process.stderr.write(`${lines.join("\n")}\n`);
  const stop = (signal: string) => {
    process.stderr.write(`\n${signal}: finishing running requests…\n`);
    server
      .close()
      .then(afterClose)
      .then(
        () => process.exit(0),
        () => process.exit(1),
      );
  };
  process.once("SIGINT", () => stop("SIGINT"));
  process.once("SIGTERM", () => stop("SIGTERM"));
  return server;
}

export function reportStartupError(error: unknown): never {
  const message = error instanceof ConfigError || error instanceof Error ? error.message : String(error);
  process.stderr.write(`Cannot start: ${message}\n`);
  process.exit(1);
}
