// The model catalogue served at /api/models (§5.1 shape). Capabilities drive validation
// of completions, so the catalogue is the single source of truth for what a model accepts.

export interface FakeModel {
  id: string;
  name: string;
  isActive: boolean;
  thinking: boolean;
  /** qwen3.8-max refuses requests unless thinking is explicitly enabled. */
  requiresThinking: boolean;
  vision: boolean;
  audio: boolean;
  chatTypes: string[];
  description: string;
}

export const fakeModels: FakeModel[] = [
  {
    id: "qwen3.7-plus",
    name: "Qwen3.7-Plus",
    isActive: true,
    thinking: true,
    requiresThinking: false,
    vision: true,
    audio: false,
    chatTypes: ["t2t", "search", "t2i", "t2v", "image_edit", "artifacts", "web_dev", "deep_research"],
    description: "Balanced flagship with vision, search and media generation.",
  },
  {
    id: "qwen3.7-max",
    name: "Qwen3.7-Max",
    isActive: true,
    thinking: true,
    requiresThinking: false,
    vision: true,
    audio: false,
    chatTypes: ["t2t", "search", "artifacts", "web_dev"],
    description: "Largest 3.7 model.",
  },
  {
    id: "qwen3.8-max",
    name: "Qwen3.8-Max",
    isActive: true,
    thinking: true,
    requiresThinking: true,
    vision: true,
    audio: true,
    chatTypes: ["t2t", "search", "deep_research"],
    description: "Reasoning-only flagship; thinking must be enabled.",
  },
  {
    id: "qwen3-coder",
    name: "Qwen3-Coder",
    isActive: true,
    thinking: false,
    requiresThinking: false,
    vision: false,
    audio: false,
    chatTypes: ["t2t"],
    description: "Coding model, text only.",
  },
  {
    id: "qwen2.5-max",
    name: "Qwen2.5-Max",
    isActive: false,
    thinking: false,
    requiresThinking: false,
    vision: true,
    audio: false,
    chatTypes: ["t2t", "search"],
    description: "Retired model.",
  },
];

export function findModel(id: unknown): FakeModel | undefined {
  return typeof id === "string" ? fakeModels.find((model) => model.id === id) : undefined;
}

export function modelToWire(model: FakeModel): Record<string, unknown> {
  const capabilities = {
    vision: model.vision,
    document: true,
    video: model.vision,
    audio: model.audio,
    citations: model.chatTypes.includes("search"),
    thinking_budget: model.thinking,
    thinking: model.thinking,
  };
  const abilities = Object.fromEntries(
    Object.entries({ ...capabilities, mcp: model.chatTypes.length > 1 }).map(([name, value]) => [
      name,
      value ? 1 : 0,
    ]),
  );
  return {
    id: model.id,
    name: model.name,
    object: "model",
    owned_by: "qwen",
    info: {
      id: model.id,
      user_id: "7bd6b9a2-0000-4000-8000-000000000001",
      base_model_id: null,
      name: model.name,
      params: {},
      meta: {
        profile_image_url: "/static/favicon.png",
        description: model.description,
        capabilities,
        short_description: model.description,
        max_context_length: 262144,
        max_generation_length: 32768,
        max_thinking_generation_length: model.thinking ? 81920 : 0,
        max_summary_generation_length: 32768,
        abilities,
        chat_type: model.chatTypes,
        mcp: model.chatTypes.length > 1 ? ["image-generation", "code-interpreter"] : [],
        modality: model.audio ? ["text", "audio"] : ["text"],
        file_limits: { default_max_size_mb: 20, image_max_size_mb: 10, max_file_count: 10 },
        think_skip: { enable: model.thinking && !model.requiresThinking },
      },
      access_control: null,
      is_active: model.isActive,
      is_visitor_active: model.isActive,
      created_at: 1_760_000_000,
      updated_at: 1_780_000_000,
    },
  };
}
