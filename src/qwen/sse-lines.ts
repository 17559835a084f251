/**
 * Splits upstream's byte stream into `data:` payloads, more leniently than the SSE spec:
 * upstream and the proxies that imitate it frame events with a blank line, with a single
 * newline, with CRLF, or with no `data:` prefix at all. A payload that is a whole JSON object
 * on its line is handed on at once, without waiting for a blank line that may never come.
 * It takes decoded text; the caller decodes in streaming mode so split characters stay whole.
 */
export class SseLineReader {
  #buffer = "";
  /** Data lines of an event that spans several lines, joined at its blank line. */
  #pending: string[] = [];

  /** Feeds decoded text; returns the payloads completed by it. */
  feed(text: string): string[] {
    this.#buffer += text;
    const payloads: string[] = [];
    let start = 0;
    for (let index = 0; index < this.#buffer.length; index++) {
      const char = this.#buffer.charCodeAt(index);
      if (char !== 10 && char !== 13) continue;
      // A CR at the very end may be the first half of a CRLF still on its way.
      if (char === 13 && index === this.#buffer.length - 1) break;
      this.#line(this.#buffer.slice(start, index), payloads);
      if (char === 13 && this.#buffer.charCodeAt(index + 1) === 10) index++;
      start = index + 1;
    }
    this.#buffer = this.#buffer.slice(start);
    return payloads;
  }

  /** The stream ended: whatever is left counts, even without its final newline. */
  end(): string[] {
    const payloads: string[] = [];
    if (this.#buffer !== "") this.#line(this.#buffer.replace(/\r$/, ""), payloads);
    this.#buffer = "";
    this.#dispatchPending(payloads);
    return payloads;
  }

  #line(line: string, payloads: string[]): void {
    if (line === "") {
      this.#dispatchPending(payloads);
      return;
    }
    let value: string;
    if (line.startsWith("data:")) value = line.charCodeAt(5) === 32 ? line.slice(6) : line.slice(5);
    else if (line.trimStart().startsWith("{")) value = line;
    else return; // comments (":"), event:, id:, retry: carry nothing upstream uses.

    const trimmed = value.trim();
    const whole = (trimmed.startsWith("{") && trimmed.endsWith("}")) || trimmed === "[DONE]";
    if (whole && this.#pending.length === 0) payloads.push(value);
    else this.#pending.push(value);
  }

  #dispatchPending(payloads: string[]): void {
    if (this.#pending.length === 0) return;
    payloads.push(this.#pending.join("\n"));
    this.#pending = [];
  }
}
