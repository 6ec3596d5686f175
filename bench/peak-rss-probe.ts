/**
 * Preloaded into a measured process (`node --require peak-rss-probe.js ...`): writes its peak
 * resident set size, "peak-rss-kb N", to stderr as it exits (backfill-memory.ts reads it).
 */
import { writeSync } from "node:fs";

process.on("exit", () => {
  writeSync(2, `peak-rss-kb ${process.resourceUsage().maxRSS}\n`);
});
