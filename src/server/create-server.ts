import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { FastifyInstance } from "fastify";
import { createAccounts } from "../accounts/create-accounts.js";
import { type Config, isLoopbackHost } from "../config/config.js";
import { PrivateJsonFileWriter } from "../config/private-json-file.js";
import { UpstreamChatReserve } from "../conversation/chat-reserve.js";
import { ConversationService } from "../conversation/conversation-service.js";
import { readReservedChats, reservedChatsPath } from "../conversation/reserved-chats-file.js";
import { UpstreamCleanup } from "../conversation/upstream-cleanup.js";
import { AccountUploads } from "../files/account-uploads.js";
import { FileStore } from "../files/file-store.js";
import { AttachmentIngest } from "../files/ingest.js";
import { removeUnusedFiles } from "../files/unused-files.js";
import { QwenClient } from "../qwen/client.js";
import { ModelCatalogue } from "../qwen/models.js";
import { readSavedModels, writeSavedModels } from "../qwen/saved-models.js";
import { SqliteChatStore, sqliteDatabaseFileName } from "../store/sqlite-chat-store.js";
import { DirectTransport } from "../transport/direct.js";
import { buildApp } from "./app.js";
import type { AppContext } from "./app-context.js";

export interface RunningServer {
  app: FastifyInstance;
  context: AppContext;
  /** `http://host:port` as listened on. */
  url: string;
  /** Stops taking requests, lets running streams finish (bounded), then frees everything. */
  close(): Promise<void>;
}

function packageVersion(): string {
  // From src/server under tsx, or dist/src/server once built.
  for (const relative of ["../../package.json", "../../../package.json"]) {
    try {
      const raw = readFileSync(new URL(relative, import.meta.url), "utf8");
      const version = (JSON.parse(raw) as { name?: string; version?: string }).version;
      if (version) return version;
    } catch {
      // Not there; try the next place.
    }
  }
  return "0.0.0";
}

/** Refuses an exposed server that anyone could use, unless told so explicitly. */
export function assertSafeToListen(config: Config): void {
  if (isLoopbackHost(config.host) || config.apiKeys.length > 0 || config.insecureNoAuth) return;
  throw new Error(
    `Refusing to listen on ${config.host} without API keys: anyone who reaches it could use your Qwen account. ` +
      "Set API_KEYS (or API_KEYS_FILE), or pass --insecure-no-auth if that is really what you want.",
  );
}

export function createContext(config: Config): AppContext {
  const identity = {
    spaVersion: config.spaVersion,
    bxVersion: config.bxVersion,
    userAgent: config.userAgent,
  };
  const runtime = createAccounts(config);
  const accounts = runtime.pool;
  // The model list works without a token; an account's token is sent when there is one.
  const anonymous = new QwenClient({
    baseUrl: config.qwenBaseUrl,
    transport: new DirectTransport(),
    identity,
  });
  const catalogue = new ModelCatalogue({
    ttlMs: config.modelsTtlMs,
    load: (signal) => (accounts.any()?.client ?? anonymous).listModels({ signal }),
    saved: readSavedModels(config.dataDir),
    onLoaded: (models) => {
      try {
        writeSavedModels(config.dataDir, models);
      } catch {
        // Only the next cold start during an outage would miss it.
      }
    },
  });
  const store = new SqliteChatStore(join(config.dataDir, sqliteDatabaseFileName));
  const files = new FileStore(config.dataDir);
  const ingest = new AttachmentIngest({
    files,
    // Files Qwen serves itself are passed on as they are; anything else is fetched and uploaded.
    qwenHosts: [upstreamHost(config.qwenBaseUrl), "qwenlm.ai"],
    allowPrivateUrls: config.allowPrivateUrls,
    downloadTimeoutMs: config.downloadTimeoutMs,
  });
  const uploads = new AccountUploads(files);
  const upstreamCleanup = new UpstreamCleanup(accounts);
  // Chats reserved by a run that ended without its shutdown (a kill, a crash) are deleted now.
  const leftovers = readReservedChats(config.dataDir);
  if (leftovers.length > 0) upstreamCleanup.enqueue(leftovers);
  // Written on the thread pool, newest value only: never in a request's way.
  const reservedFile = new PrivateJsonFileWriter(reservedChatsPath(config.dataDir));
  const reserve = config.prewarmChats
    ? new UpstreamChatReserve({
        discard: (refs) => upstreamCleanup.enqueue(refs),
        onChange: (reserved) => reservedFile.save(reserved),
        changesKept: () => reservedFile.idle(),
      })
    : undefined;
  // Without a reserve of its own, this run clears the note once the leftovers are gone.
  if (leftovers.length > 0 && !reserve) void upstreamCleanup.idle().then(() => reservedFile.save([]));
  return {
    config,
    store,
    accounts,
    catalogue,
    conversations: new ConversationService({
      store,
      accounts,
      uploads,
      reserve,
      // An earlier message's file, made usable the same way as a new message's.
      prepareHistoryAttachment: (ref, signal) =>
        ref.startsWith("file:")
          ? Promise.resolve(ingest.fromFileId(ref.slice("file:".length), "messages"))
          : ingest.fromUrl(ref, "messages", signal),
    }),
    reserve,
    ingest,
    uploads,
    files,
    upstreamCleanup,
    accountsRuntime: runtime,
    startedAt: Date.now(),
    version: packageVersion(),
  };
}

export async function startServer(config: Config): Promise<RunningServer> {
  assertSafeToListen(config);
  const context = createContext(config);
  const app = buildApp(context);
  await app.listen({ port: config.port, host: config.host });
  context.accountsRuntime.keeper.start();
  context.accountsRuntime.watchRecords(config.accountsReloadMs);
  const stopCollectingFiles = collectUnusedFiles(context, app.log);
  const address = app.server.address();
  const port = typeof address === "object" && address ? address.port : config.port;
  const host = config.host.includes(":") ? `[${config.host}]` : config.host;

  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= (async () => {
      // Running streams get the grace period; then their sockets are cut.
      const timer = setTimeout(() => app.server.closeAllConnections(), config.shutdownGraceMs);
      timer.unref();
      stopCollectingFiles();
      await app.close();
      clearTimeout(timer);
      await context.upstreamCleanup.idle();
      await context.reserve?.drain();
      await context.accountsRuntime.close();
      await context.store.close();
    })();
    return closing;
  };
  return { app, context, url: `http://${host}:${port}`, close };
}

/** How often stored files are checked for ones no chat needs any more. */
const FILE_COLLECTION_INTERVAL_MS = 6 * 3_600_000;

/**
 * Removes stored files no chat refers to once they are older than UNUSED_FILES_TTL_MS: soon
 * after the start and then every few hours. Returns the function that stops it.
 */
function collectUnusedFiles(
  context: AppContext,
  log: { info(object: object, message: string): void; warn(object: object, message: string): void },
): () => void {
  const keepMs = context.config.unusedFilesTtlMs;
  if (keepMs === 0) return () => {};
  const run = () =>
    removeUnusedFiles({ files: context.files, store: context.store, keepMs }).then(
      (removed) => {
        if (removed.length > 0) log.info({ count: removed.length }, "removed stored files no chat uses");
      },
      (error: unknown) => log.warn({ err: error }, "could not remove unused files"),
    );
  const first = setTimeout(run, 60_000);
  const every = setInterval(run, FILE_COLLECTION_INTERVAL_MS);
  first.unref();
  every.unref();
  return () => {
    clearTimeout(first);
    clearInterval(every);
  };
}

/** The upstream's host as files are matched against it: with its port when it has one. */
function upstreamHost(baseUrl: string): string {
  const url = new URL(baseUrl);
  return url.port ? url.host.toLowerCase() : url.hostname.toLowerCase();
}
