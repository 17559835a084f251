// The upstream is a Python service: its SSE payloads use json.dumps spacing (", " and
// ": "). Reproducing that keeps clients honest about parsing JSON rather than matching
// compact substrings. Non-ASCII stays raw UTF-8 so that byte splits can land inside it.

export function toPythonJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map((item) => toPythonJson(item)).join(", ")}]`;
  if (value !== null && typeof value === "object") {
    const members = Object.entries(value as Record<string, unknown>)
      .filter(([, member]) => member !== undefined)
      .map(([key, member]) => `${JSON.stringify(key)}: ${toPythonJson(member)}`);
    return `{${members.join(", ")}}`;
  }
  return JSON.stringify(value) ?? "null";
}
