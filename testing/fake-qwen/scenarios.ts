import type { FakeScenario, ScenarioOptions } from "./types.js";

// One injected failure at a time. Each kind fires at the point of request handling where
// the real failure happens: the WAF and gateways answer before authentication, rate limits
// and business errors after validation, stream faults only once a stream exists.

export type RouteKind = "completions" | "new-chat" | "models" | "tasks" | "other-api";
export type ScenarioStage = "gateway" | "auth" | "business" | "stream";

interface ActiveScenario {
  scenario: FakeScenario;
  remaining: number | null;
  accountId: string | undefined;
  route: NonNullable<ScenarioOptions["route"]>;
}

export function stageOf(scenario: FakeScenario): ScenarioStage {
  switch (scenario.kind) {
    case "waf":
    case "http-error":
      return "gateway";
    case "token-revoked":
      return "auth";
    case "rate-limited":
    case "internal-error":
      return "business";
    case "moderation":
      return scenario.where === "input" ? "business" : "stream";
    default:
      return "stream";
  }
}

export class ScenarioStore {
  private active: ActiveScenario | null = null;

  set(scenario: FakeScenario, options: ScenarioOptions = {}): void {
    if (options.times !== undefined && options.times <= 0) {
      this.active = null;
      return;
    }
    this.active = {
      scenario,
      remaining: options.times ?? null,
      accountId: options.accountId,
      route: options.route ?? "completions",
    };
  }

  clear(): void {
    this.active = null;
  }

  /**
   * Returns the scenario when it applies here, counting the use against `times`. `accepts`
   * narrows it further (a request that cannot show a scenario leaves it for the next one).
   */
  take(
    stage: ScenarioStage,
    routeKind: RouteKind,
    accountId: string | null,
    accepts: (scenario: FakeScenario) => boolean = () => true,
  ): FakeScenario | null {
    const active = this.active;
    if (!active || stageOf(active.scenario) !== stage) return null;
    if (!accepts(active.scenario)) return null;
    if (!routeMatches(active.route, routeKind)) return null;
    if (stage === "stream" && routeKind !== "completions") return null;
    if (active.accountId !== undefined && active.accountId !== accountId) return null;
    if (active.remaining !== null) {
      active.remaining -= 1;
      if (active.remaining <= 0) this.active = null;
    }
    return active.scenario;
  }
}

function routeMatches(route: NonNullable<ScenarioOptions["route"]>, routeKind: RouteKind): boolean {
  if (route === "any") return true;
  return route === routeKind;
}
