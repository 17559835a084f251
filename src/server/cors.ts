import cors from "@fastify/cors";
import type { FastifyInstance } from "fastify";

// Browser-based clients (Open WebUI's direct connections, web chat front-ends) call the API
// from their own origin and need CORS. By default only pages served from this machine may:
// any web site being able to drive the user's Qwen account through a local proxy would be a
// gift to every page they visit.

const LOOPBACK_ORIGIN = /^https?:\/\/(localhost|127(?:\.\d{1,3}){3}|\[::1\])(:\d{1,5})?$/i;

/** Whether a page at `origin` may call the API, given CORS_ORIGINS. */
export function originAllowed(origin: string, allowed: readonly string[]): boolean {
  for (const entry of allowed) {
    if (entry === "*") return true;
    if (entry.toLowerCase() === "loopback" && LOOPBACK_ORIGIN.test(origin)) return true;
    if (entry.replace(/\/+$/, "").toLowerCase() === origin.toLowerCase()) return true;
  }
  return false;
}

/** Registers CORS on the root instance (its hooks apply to every route). */
export function registerCors(app: FastifyInstance, allowed: readonly string[]): void {
  void app.register(cors, {
    origin: (origin, callback) => callback(null, origin !== undefined && originAllowed(origin, allowed)),
    methods: ["GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS"],
    // Not set: whatever the page asks to send (Authorization, x-api-key, x-stainless-* …).
    exposedHeaders: ["x-request-id", "x-chat-id", "retry-after", "x-should-retry"],
    maxAge: 600,
    strictPreflight: false,
  });
}
