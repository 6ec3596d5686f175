/**
 * Probes in measured processes. As a program, for the cold start: `node probe.js [module]` loads
 * the handler module the way Lambda does (require: its module scope runs), says "ready", handles
 * the S3 event in BENCH_EVENT if any and says "done"; no module: bare Node, the floor. Nothing
 * else is loaded first. Preloaded (`node --require probe.js`, by backfill-memory.ts): writes the
 * process's peak RSS, "peak-rss-kb N", to stderr as it exits.
 */
if (require.main !== module) {
  process.on("exit", () => {
    require("node:fs").writeSync(2, `peak-rss-kb ${process.resourceUsage().maxRSS}\n`);
  });
} else {
  // The V8 compile cache (Node >= 22.1): what a cache shipped in the image would save.
  if (process.env.BENCH_COMPILE_CACHE) {
    require("node:module").enableCompileCache?.(process.env.BENCH_COMPILE_CACHE);
  }

  // Tagged so the parent can tell these lines from the handler's own JSON logs.
  const say = (probe: "ready" | "done", extra: Record<string, unknown> = {}) => {
    const cpu = process.cpuUsage();
    const cpuMs = (cpu.user + cpu.system) / 1000;
    process.stdout.write(`${JSON.stringify({ probe, cpuMs, ...extra })}\n`);
  };
  const probe = async (path: string | undefined, event: string | undefined) => {
    const { handler } = path ? require(path) : { handler: undefined };
    say("ready");
    if (handler && event) say("done", { results: await handler(JSON.parse(event)) });
  };
  probe(process.argv[2], process.env.BENCH_EVENT).catch((error: unknown) => {
    process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
    process.exit(1);
  });
}
