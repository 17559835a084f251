import { asNumber, asRecord, asString } from "./json-shape.js";

export interface QwenModelCapabilities {
  thinking: boolean;
  vision: boolean;
  document: boolean;
  video: boolean;
  audio: boolean;
  citations: boolean;
  search: boolean;
  imageGeneration: boolean;
  imageEdit: boolean;
  videoGeneration: boolean;
}

export interface QwenModel {
  id: string;
  name: string;
  ownedBy: string;
  active: boolean;
  /** Unix seconds, when upstream says. */
  createdAt?: number;
  /** Upstream chat modes this model takes (`t2t`, `search`, `t2i`…). */
  chatTypes: string[];
  capabilities: QwenModelCapabilities;
  /** Upstream refuses this model unless thinking is switched on. */
  thinkingRequired: boolean;
  maxContextLength?: number;
  maxGenerationLength?: number;
}

/** Models upstream rejects without `thinking_enabled: true` (protocol notes §8.21). */
const THINKING_REQUIRED = new Set(["qwen3.8-max"]);

/**
 * Reads `GET /api/models` (`{data:[…]}`) or the v2 list (`{data:{data:[…]}}`). Entries that
 * have no id are skipped rather than failing the whole list.
 */
export function parseModelList(body: unknown): QwenModel[] {
  const root = asRecord(body);
  const data = root?.data;
  const list = Array.isArray(body) ? body : Array.isArray(data) ? data : asRecord(data)?.data;
  if (!Array.isArray(list)) return [];
  const models: QwenModel[] = [];
  for (const item of list) {
    const model = parseModel(item);
    if (model) models.push(model);
  }
  return models;
}

function parseModel(item: unknown): QwenModel | undefined {
  const record = asRecord(item);
  const id = asString(record?.id);
  if (!record || !id) return undefined;
  const info = asRecord(record.info);
  const meta = asRecord(info?.meta);
  const flags = asRecord(meta?.capabilities) ?? {};
  const abilities = asRecord(meta?.abilities) ?? {};
  const chatTypes = Array.isArray(meta?.chat_type)
    ? meta.chat_type.filter((value): value is string => typeof value === "string")
    : ["t2t"];
  // Capabilities come as booleans, abilities as 0/1; either one saying yes is enough.
  const has = (name: string) => flags[name] === true || asNumber(abilities[name]) === 1;
  return {
    id,
    name: asString(record.name) ?? id,
    ownedBy: asString(record.owned_by) ?? "qwen",
    active: info?.is_active !== false,
    createdAt: asNumber(info?.created_at) ?? asNumber(record.created),
    chatTypes,
    capabilities: {
      thinking: has("thinking"),
      vision: has("vision"),
      document: has("document"),
      video: has("video"),
      audio: has("audio"),
      citations: has("citations"),
      search: chatTypes.includes("search"),
      imageGeneration: chatTypes.includes("t2i"),
      imageEdit: chatTypes.includes("image_edit"),
      videoGeneration: chatTypes.includes("t2v"),
    },
    thinkingRequired: THINKING_REQUIRED.has(id.toLowerCase()),
    maxContextLength: asNumber(meta?.max_context_length),
    maxGenerationLength: asNumber(meta?.max_generation_length),
  };
}

/** How long a failed refresh waits before asking upstream again, when it has a list to serve. */
const STALE_RETRY_MS = 30_000;

export interface ModelCatalogueOptions {
  load: (signal?: AbortSignal) => Promise<QwenModel[]>;
  ttlMs?: number;
  /**
   * A list kept from an earlier run. It is never fresh (the first call still asks upstream),
   * but it answers when upstream cannot, so a restart during an outage keeps serving.
   */
  saved?: QwenModel[];
  /** Called with each good list loaded from upstream, to keep it for the next start. */
  onLoaded?: (models: QwenModel[]) => void;
}

/**
 * The model list with a TTL. Concurrent callers share one upstream request, and a failed
 * refresh keeps serving the last good list rather than failing every request.
 */
export class ModelCatalogue {
  readonly #load: ModelCatalogueOptions["load"];
  readonly #ttlMs: number;
  #models: QwenModel[] | undefined;
  /** Until when `#models` is served without asking upstream; a saved list starts stale. */
  #freshUntil = Number.NEGATIVE_INFINITY;
  #pending: Promise<QwenModel[]> | undefined;
  /** Why the last attempt to load the list failed; undefined after a success. */
  #lastError: string | undefined;
  /** Whether the list served came from upstream in this run (or only from the saved copy). */
  #fromUpstream = false;
  readonly #onLoaded: ModelCatalogueOptions["onLoaded"];

  constructor(options: ModelCatalogueOptions) {
    this.#load = options.load;
    this.#ttlMs = options.ttlMs ?? 10 * 60_000;
    this.#onLoaded = options.onLoaded;
    if (options.saved && options.saved.length > 0) this.#models = options.saved;
  }

  async list(options: { force?: boolean; now?: number } = {}): Promise<QwenModel[]> {
    const now = options.now ?? Date.now();
    if (!options.force && this.#models && now < this.#freshUntil) return this.#models;
    this.#pending ??= this.#refresh(now).finally(() => {
      this.#pending = undefined;
    });
    return this.#pending;
  }

  /** How the last load went, for status pages: an error means upstream's list was not reached. */
  health(): { lastError?: string; source: "upstream" | "saved" | "none" } {
    const source = this.#fromUpstream ? "upstream" : this.#models ? "saved" : "none";
    return this.#lastError === undefined ? { source } : { lastError: this.#lastError, source };
  }

  async find(id: string): Promise<QwenModel | undefined> {
    const wanted = id.toLowerCase();
    const models = await this.list();
    return models.find((model) => model.id.toLowerCase() === wanted || model.name.toLowerCase() === wanted);
  }

  async #refresh(now: number): Promise<QwenModel[]> {
    try {
      const models = await this.#load();
      if (models.length === 0 && this.#models) return this.#keepStale(now);
      this.#models = models;
      this.#freshUntil = now + this.#ttlMs;
      this.#lastError = undefined;
      this.#fromUpstream = true;
      if (models.length > 0) this.#onLoaded?.(models);
      return models;
    } catch (error) {
      this.#lastError = error instanceof Error ? error.message : String(error);
      if (this.#models) return this.#keepStale(now);
      throw error;
    }
  }

  /** Serves the list it has, and asks upstream again a little later rather than per request. */
  #keepStale(now: number): QwenModel[] {
    this.#freshUntil = now + Math.min(this.#ttlMs, STALE_RETRY_MS);
    return this.#models ?? [];
  }
}
