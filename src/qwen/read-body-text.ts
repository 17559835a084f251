import { TextDecoder } from "node:util";

export interface BodyText {
  text: string;
  /** The body went on past the limit; `text` holds what came before it. */
  truncated: boolean;
}

/**
 * A response body as text, read up to `limitBytes` (an error page or a JSON answer must not
 * fill memory). A decoder already used for the start of the body can be passed on, so a
 * character split between the two parts stays whole.
 */
export async function readBodyText(
  body: AsyncIterable<Uint8Array>,
  limitBytes: number,
  decoder: TextDecoder = new TextDecoder("utf-8"),
): Promise<BodyText> {
  let text = "";
  let bytes = 0;
  for await (const chunk of body) {
    bytes += chunk.byteLength;
    text += decoder.decode(chunk, { stream: true });
    if (bytes >= limitBytes) return { text: text + decoder.decode(), truncated: true };
  }
  return { text: text + decoder.decode(), truncated: false };
}
