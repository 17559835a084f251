import type { SearchResult } from "../events.js";

/**
 * Parts of a reply that surfaces show as text besides upstream's answer. The stored reply
 * uses the same words, so a client that sends the reply back is recognised.
 */
export function formatSources(results: readonly SearchResult[]): string {
  if (results.length === 0) return "";
  const lines = results.map((result, index) => `${index + 1}. [${result.title}](${result.url})`);
  return `\n\nSources:\n${lines.join("\n")}`;
}

export function formatImage(url: string, first: boolean): string {
  return `${first ? "" : "\n"}![image](${url})`;
}
