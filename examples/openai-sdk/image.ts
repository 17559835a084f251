import { client, model } from "./client.js";

// A question about a picture: the message's content becomes a list of parts, text and image.
// The picture is fetched from its URL (so the URL must be reachable from where the proxy
// runs), or given inline as a data: URI.
// Run: npx tsx examples/openai-sdk/image.ts   (IMAGE_URL=<url> to ask about your own)

// A 1x1 red PNG inline, so the example also works offline against `npm run demo`.
const RED_PIXEL =
  "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg==";
const imageUrl = process.env.IMAGE_URL ?? RED_PIXEL;

const completion = await client.chat.completions.create({
  // A model that can see: qwen3.7-plus can; the list from models.ts tells the rest.
  model,
  messages: [
    {
      role: "user",
      content: [
        { type: "text", text: "What is in this picture? One sentence." },
        { type: "image_url", image_url: { url: imageUrl } },
      ],
    },
  ],
});

console.log(completion.choices[0]?.message.content);
