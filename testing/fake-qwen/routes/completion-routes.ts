import { randomUUID } from "node:crypto";
import { type ValidCompletion, validateCompletion } from "../completion-validation.js";
import { type ChatMessageRecord, nowSeconds } from "../fake-state.js";
import { sendBadRequest, sendJson, sendSuccess } from "../http-replies.js";
import { buildReplyContent, estimateInputTokens, type ReplyContent } from "../reply-content.js";
import { headerValue, parseJsonObject, type RequestContext } from "../request-context.js";
import { sendScenarioReply } from "../scenario-replies.js";
import { buildImagePlan, buildTextPlan, type PlannedEvent, type StreamIdentity } from "../stream-plan.js";
import { runStream } from "../stream-runner.js";
import type { FakeScenario } from "../types.js";

// POST /api/v2/chat/completions?chat_id=… — one user message per request, threaded by
// parent_id, answered as SSE (or JSON for video and the json-completion scenario).

export async function handleCompletion(context: RequestContext): Promise<void> {
  const accountId = context.auth.accountId as string;
  const body = parseJsonObject(context.rawBody);
  if (!body) {
    sendBadRequest(context.response, "Invalid input the request body is not valid JSON.");
    return;
  }
  // Without the SPA build header upstream fails with this transient-looking error (§8.5).
  if (headerValue(context.request, "version") === undefined) {
    sendBadRequest(context.response, "Internal error");
    return;
  }
  const validation = validateCompletion({
    state: context.state,
    accountId,
    queryChatId: context.query.chat_id,
    body,
  });
  if (!validation.ok) {
    sendBadRequest(context.response, validation.details);
    return;
  }
  const businessScenario = context.scenarios.take("business", "completions", accountId);
  if (businessScenario) {
    sendScenarioReply(context.response, businessScenario);
    return;
  }
  const completion = validation.value;
  // Only media replies can come back without their media; other requests leave it for them.
  const isMediaWithoutId = (candidate: FakeScenario) => candidate.kind === "media-without-id";
  if (completion.chatType === "t2v") {
    const scenario = context.scenarios.take("stream", "completions", accountId, isMediaWithoutId);
    answerVideoTask(context, completion, scenario?.kind === "media-without-id" ? scenario : null);
    return;
  }
  const scenario = context.scenarios.take(
    "stream",
    "completions",
    accountId,
    (candidate) => !isMediaWithoutId(candidate) || completion.chatType === "t2i",
  );
  const built = buildReplyContent(completion);
  const content = scenario?.kind === "answer" ? { ...built, answer: scenario.text } : built;
  if (scenario?.kind === "json-completion") {
    answerWithJson(context, completion, content, scenario.shape ?? "choices");
    return;
  }
  if (scenario?.kind === "media-without-id") {
    await answerImageWithoutUrl(context, completion, content, scenario);
    return;
  }
  // An empty stream never shows a response id, so the turn must not become a usable parent.
  const turn = scenario?.kind === "empty-stream" ? null : recordTurn(context, completion, content);
  const identity: StreamIdentity = {
    chatId: completion.chat.id,
    responseId: turn?.assistant.id ?? randomUUID(),
    userMessageId: turn?.user.id ?? randomUUID(),
  };
  const plan = planFor(context, completion, content, identity, scenario);
  await runStream({
    context,
    plan,
    scenario,
    responseId: identity.responseId,
    onAnswerText: (text) => {
      if (turn) turn.assistant.content += text;
    },
  });
}

function planFor(
  context: RequestContext,
  completion: ValidCompletion,
  content: ReplyContent,
  identity: StreamIdentity,
  scenario: FakeScenario | null,
): PlannedEvent[] {
  if (completion.chatType === "t2i") {
    return buildImagePlan({
      ...identity,
      phaseMode: completion.phaseMode,
      imageUrl: generateImage(context, identity.responseId),
      width: completion.imageSize.width,
      height: completion.imageSize.height,
    });
  }
  return buildTextPlan({
    ...identity,
    phaseMode: completion.phaseMode,
    thinking: completion.thinking,
    content,
    inputTokens: estimateInputTokens(completion),
    answerless: scenario?.kind === "no-answer",
    random: context.createRandom(),
  });
}

/** Stores a generated image for the requesting account and returns its signed URL. */
function generateImage(context: RequestContext, responseId: string): string {
  const accountId = context.auth.accountId as string;
  const path = `/output/${accountId}/t2i/${responseId}/${Date.now()}.png`;
  context.state.mediaAssets.set(path, { accountId, kind: "png" });
  return `${context.baseUrl}${path}?key=${context.state.issueMediaKey(accountId)}`;
}

/**
 * The `media-without-id` scenario for t2i: the stream says the image phase finished but never
 * sends the URL. The chat detail still shows the image unless `detail` is "none".
 */
async function answerImageWithoutUrl(
  context: RequestContext,
  completion: ValidCompletion,
  content: ReplyContent,
  scenario: Extract<FakeScenario, { kind: "media-without-id" }>,
): Promise<void> {
  const turn = recordTurn(context, completion, content);
  const identity: StreamIdentity = {
    chatId: completion.chat.id,
    responseId: turn.assistant.id,
    userMessageId: turn.user.id,
  };
  if ((scenario.detail ?? "media") === "media") {
    const imageUrl = generateImage(context, identity.responseId);
    const { width, height } = completion.imageSize;
    turn.assistant.content = imageUrl;
    turn.assistant.contentList.push({
      phase: "image_gen",
      content: imageUrl,
      status: "finished",
      extra: { output_image_hw: [[height, width]] },
    });
  }
  const plan = buildImagePlan({
    ...identity,
    phaseMode: completion.phaseMode,
    imageUrl: "",
    width: completion.imageSize.width,
    height: completion.imageSize.height,
  }).filter((event) => event.kind !== "answer");
  await runStream({ context, plan, scenario: null, responseId: identity.responseId, onAnswerText: () => {} });
}

interface RecordedTurn {
  user: ChatMessageRecord;
  assistant: ChatMessageRecord;
}

/** Stores the user message and the (initially empty) reply; the reply id becomes a parent. */
function recordTurn(
  context: RequestContext,
  completion: ValidCompletion,
  content: ReplyContent,
): RecordedTurn {
  const { chat } = completion;
  const timestamp = nowSeconds();
  const common = { timestamp, model: completion.model.id, chatType: completion.chatType };
  const assistantId = randomUUID();
  const user: ChatMessageRecord = {
    ...common,
    id: randomUUID(),
    role: "user",
    parentId: completion.parentResponseId,
    childrenIds: [assistantId],
    content: completion.text,
    files: completion.files,
    reasoningContent: "",
    contentList: [],
    extra: {},
  };
  const contentList: Array<Record<string, unknown>> = [];
  if (completion.search) {
    contentList.push({
      phase: "web_search",
      content: "",
      status: "finished",
      extra: { web_search_info: content.searchResults },
    });
  }
  if (completion.thinking) {
    contentList.push({
      phase: completion.thinking === "summary" ? "thinking_summary" : "think",
      content: "",
      status: "finished",
      extra: {
        summary_title: { content: content.thinkingTitles },
        summary_thought: { content: content.thinkingThoughts },
      },
    });
  }
  const assistant: ChatMessageRecord = {
    ...common,
    id: assistantId,
    role: "assistant",
    parentId: user.id,
    childrenIds: [],
    content: "",
    files: [],
    reasoningContent: completion.thinking ? content.thinkingThoughts.join("\n\n") : "",
    contentList,
    extra: {},
  };
  if (completion.parentResponseId) {
    chat.messages.find((message) => message.id === completion.parentResponseId)?.childrenIds.push(user.id);
  }
  chat.messages.push(user, assistant);
  chat.responseDepths.set(assistant.id, completion.depth);
  if (chat.title === "New Chat" && completion.text.trim() !== "")
    chat.title = Array.from(completion.text.trim()).slice(0, 30).join("");
  context.state.touchChat(chat);
  return { user, assistant };
}

function answerWithJson(
  context: RequestContext,
  completion: ValidCompletion,
  content: ReplyContent,
  shape: "choices" | "data-content",
): void {
  const turn = recordTurn(context, completion, content);
  turn.assistant.content = content.answer;
  if (shape === "data-content") {
    sendJson(context.response, 200, { success: true, data: { content: content.answer } });
    return;
  }
  const inputTokens = estimateInputTokens(completion);
  const outputTokens = Math.ceil(Array.from(content.answer).length / 3);
  sendJson(context.response, 200, {
    id: turn.assistant.id,
    response_id: turn.assistant.id,
    choices: [{ message: { role: "assistant", content: content.answer }, finish_reason: "stop" }],
    usage: {
      input_tokens: inputTokens,
      output_tokens: outputTokens,
      total_tokens: inputTokens + outputTokens,
    },
  });
}

/**
 * t2v (`stream:false`): a task is created and its id answered as JSON (§4.6). Under the
 * `media-without-id` scenario the answer carries no `extra.wanx`; the chat detail still has
 * the task id unless `detail` is "none" (then no task exists at all).
 */
function answerVideoTask(
  context: RequestContext,
  completion: ValidCompletion,
  scenario: Extract<FakeScenario, { kind: "media-without-id" }> | null,
): void {
  const accountId = context.auth.accountId as string;
  const turn = recordTurn(context, completion, buildReplyContent(completion));
  const answer = (extra: Record<string, unknown>) =>
    sendSuccess(context.response, {
      message_id: turn.assistant.id,
      parent_id: turn.user.id,
      model: completion.model.id,
      messages: [{ role: "assistant", content: "", extra }],
    });
  if (scenario && scenario.detail === "none") {
    answer({});
    return;
  }
  const taskId = randomUUID();
  const path = `/output/${accountId}/t2v/${taskId}/video.mp4`;
  context.state.mediaAssets.set(path, { accountId, kind: "mp4" });
  context.state.tasks.set(taskId, {
    id: taskId,
    accountId,
    polls: 0,
    videoUrl: `${context.baseUrl}${path}?key=${context.state.issueMediaKey(accountId)}`,
  });
  turn.assistant.extra = { wanx: { task_id: taskId } };
  answer(scenario ? {} : { wanx: { task_id: taskId } });
}
