/**
 * Child process of the cold-start benchmark: loads a handler module the way Lambda does
 * (require, which runs its module scope: config, S3 client), says "ready", then optionally
 * handles one S3 event (BENCH_EVENT, JSON) and says "done". Nothing else is loaded first, so
 * the parent's clock measures a fresh process to ready.
 *
 * Usage: node cold-start-probe.js [handler-module]   (no module: bare Node start, for reference)
 * BENCH_COMPILE_CACHE=DIR turns on Node's compile cache in DIR (Node >= 22.1).
 */
const modulePath = process.argv[2];
// The V8 compile cache (Node >= 22.1), for the variant that measures what a cache shipped in
// the image would save; the parent fills the folder with one warm-up process first.
if (process.env.BENCH_COMPILE_CACHE) {
  (
    require("node:module") as { enableCompileCache?: (dir: string) => unknown }
  ).enableCompileCache?.(process.env.BENCH_COMPILE_CACHE);
}

/** Tagged so the parent can tell these lines from the handler's own JSON logs. */
function say(probe: "ready" | "done", extra: Record<string, unknown> = {}): void {
  const cpu = process.cpuUsage();
  const cpuMs = (cpu.user + cpu.system) / 1000;
  process.stdout.write(`${JSON.stringify({ probe, cpuMs, ...extra })}\n`);
}

async function probe(): Promise<void> {
  if (!modulePath) {
    say("ready");
    return;
  }
  const { handler } = require(modulePath) as { handler: (event: unknown) => Promise<unknown> };
  say("ready");
  const event = process.env.BENCH_EVENT;
  if (!event) return;
  const results = await handler(JSON.parse(event));
  say("done", { results });
}

probe().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
