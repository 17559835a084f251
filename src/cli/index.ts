#!/usr/bin/env node
import { Command } from "commander";
import { registerAccountsCommand } from "./accounts-command.js";
import { demo } from "./demo-command.js";
import { loginOnFirstRun, registerLoginCommand } from "./login-command.js";
import { configFromFlags, reportStartupError, type ServeFlags, serve } from "./serve-command.js";

const program = new Command()
  .name("freeqwenapi")
  .description("Local OpenAI-compatible API for Qwen models through your chat.qwen.ai session");

const withServeFlags = (command: Command) =>
  command
    .option("-p, --port <port>", "port to listen on (PORT, default 3264)")
    .option("-H, --host <host>", "address to listen on (HOST, default 127.0.0.1)")
    .option("--insecure-no-auth", "allow a non-loopback host without API keys");

withServeFlags(
  program.command("serve", { isDefault: true }).description("start the API server (default)"),
).action(async (flags: ServeFlags) => {
  try {
    const config = configFromFlags(flags);
    await loginOnFirstRun(config);
    await serve(config);
  } catch (error) {
    reportStartupError(error);
  }
});

withServeFlags(
  program
    .command("demo")
    .description("start the server against the built-in fake upstream (offline playground)"),
).action((flags: ServeFlags) => demo(flags).catch(reportStartupError));

registerAccountsCommand(program);
registerLoginCommand(program);

program.parseAsync().catch(reportStartupError);
