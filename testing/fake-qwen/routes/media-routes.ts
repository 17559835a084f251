import { sendJson, sendNotFoundBusiness, sendOssError } from "../http-replies.js";
import { sampleMp4, samplePng } from "../media-assets.js";
import type { RequestContext } from "../request-context.js";

// Generated media (the cdn.qwenlm.ai stand-in) and video task polling (§4.5).

/** Media URLs only work with their `?key=` (§8.17); the key is not a session token. */
export function handleMediaFile(context: RequestContext): void {
  const key = context.query.key;
  if (!key || !context.state.isValidMediaKey(key)) {
    sendOssError(context.response, 403, "AccessDenied", "You have no right to access this object.");
    return;
  }
  const asset = context.state.mediaAssets.get(context.path);
  if (!asset) {
    sendOssError(context.response, 404, "NoSuchKey", "The specified key does not exist.");
    return;
  }
  const bytes = asset.kind === "png" ? samplePng() : sampleMp4();
  context.response.writeHead(200, {
    "content-type": asset.kind === "png" ? "image/png" : "video/mp4",
    "content-length": String(bytes.length),
  });
  context.response.end(bytes);
}

/**
 * Flat body, one step further per poll: pending → running → success (§1.2), success at poll
 * `taskPollsToSuccess` (default 3).
 */
export function handleTaskStatus(context: RequestContext, taskId: string): void {
  const task = context.state.tasks.get(taskId);
  if (!task || task.accountId !== context.auth.accountId) {
    sendNotFoundBusiness(context.response);
    return;
  }
  task.polls += 1;
  const status =
    task.polls >= context.settings.taskPollsToSuccess ? "success" : task.polls === 1 ? "pending" : "running";
  sendJson(context.response, 200, {
    task_id: task.id,
    chat_type: "t2v",
    task_status: status,
    content: status === "success" ? task.videoUrl : "",
    message: "",
  });
}
