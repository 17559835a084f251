import type { ValidCompletion } from "./completion-validation.js";

// Deterministic, context-revealing replies. Every answer states how deep the upstream
// thread is and echoes what it received, so client tests can see exactly which context
// reached "the model". Each reply carries Cyrillic, CJK and an emoji so that UTF-8
// handling is exercised on every request.

export interface WebSearchItem {
  url: string;
  title: string;
  snippet: string;
  hostname: string;
  date: string;
}

export interface ReplyContent {
  answer: string;
  thinkingTitles: string[];
  thinkingThoughts: string[];
  searchResults: WebSearchItem[];
}

export function buildReplyContent(completion: ValidCompletion): ReplyContent {
  const searchResults = completion.search ? buildSearchResults(completion.text) : [];
  const sentences = [
    `Turn ${completion.depth} of chat ${completion.chat.id.slice(0, 8)}. You said: «${completion.text}». Привет 👋 你好`,
  ];
  const fileCount = completion.files.length;
  if (fileCount > 0 || completion.imagePartCount > 0) {
    sentences.push(`Attachments: ${fileCount} file(s), ${completion.imagePartCount} image part(s).`);
  }
  if (searchResults.length > 0) {
    sentences.push(`According to the sources [[1]] and [[2]], the search worked.`);
  }
  return {
    answer: sentences.join(" "),
    thinkingTitles: ["Reading the message", "Составляю ответ"],
    thinkingThoughts: [
      `The user wrote «${shorten(completion.text, 60)}» as turn ${completion.depth}; I will echo it back.`,
      "Отвечу на языке пользователя и добавлю 你好 👋 в конце.",
    ],
    searchResults,
  };
}

function buildSearchResults(query: string): WebSearchItem[] {
  const encoded = encodeURIComponent(shorten(query, 40));
  return [
    {
      url: `https://example.com/search/result-1?q=${encoded}`,
      title: "First result — первый результат",
      snippet: "A snippet about the query. 搜索结果摘要。",
      hostname: "example.com",
      date: "2026-08-01",
    },
    {
      url: `https://news.example.org/articles/${encoded}`,
      title: "Second result 第二个结果",
      snippet: "Another snippet with more detail.",
      hostname: "news.example.org",
      date: "2026-07-15",
    },
  ];
}

function shorten(text: string, maximumCodePoints: number): string {
  const codePoints = Array.from(text);
  return codePoints.length <= maximumCodePoints
    ? text
    : `${codePoints.slice(0, maximumCodePoints).join("")}…`;
}

/** ~1000 hidden system-prompt tokens plus the visible input, like the real usage numbers. */
export function estimateInputTokens(completion: ValidCompletion): number {
  const attachmentTokens = (completion.files.length + completion.imagePartCount) * 258;
  return 1024 + Math.ceil(Buffer.byteLength(completion.text, "utf8") / 4) + attachmentTokens;
}
