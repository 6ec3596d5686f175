/**
 * Child process run by the engine benchmark: loads one thumbnailer (our engine, or the plain
 * sharp pipeline it is measured against), then thumbnails the files it is sent, one at a time,
 * timing each from file read to encoded thumbnail. Protocol: see worker-client.ts.
 *
 * Usage: node engine-worker.js engine|sharp-plain   (threads from BENCH_THREADS, default 1)
 */
import { readFile } from "node:fs/promises";
import { createInterface } from "node:readline";
import sharp from "sharp";
import { plainThumbnail } from "./plain-sharp";

type Thumbnailer = (input: Buffer) => Promise<{ data: Buffer; width: number; height: number }>;

async function load(impl: string): Promise<Thumbnailer> {
  if (impl === "engine") {
    const engine = await import("../../handler/engine/index");
    engine.configureSharp();
    return (input) => engine.makeThumbnail(input, engine.DEFAULT_OPTIONS);
  }
  if (impl === "sharp-plain") return plainThumbnail;
  throw new Error(`unknown implementation ${impl}`);
}

function reply(message: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(message)}\n`);
}

async function main(): Promise<void> {
  const impl = process.argv[2] ?? "engine";
  const thumbnail = await load(impl);
  const threads = Number(process.env.BENCH_THREADS ?? "1");
  if (threads > 0) sharp.concurrency(threads); // after configureSharp: the bench decides
  const cache = sharp.cache(); // no argument: reads the limits the engine chose
  reply({
    ready: true,
    settings: {
      "sharp.concurrency": sharp.concurrency(),
      UV_THREADPOOL_SIZE: process.env.UV_THREADPOOL_SIZE ?? "default (4)",
      "sharp.cache": `${cache.memory.max} MB, ${cache.files.max} files, ${cache.items.max} ops`,
    },
  });
  const lines = createInterface({ input: process.stdin });
  for await (const line of lines) {
    const request = JSON.parse(line) as { path?: string; rss?: boolean };
    if (request.rss) {
      reply({ maxRssKb: process.resourceUsage().maxRSS });
      continue;
    }
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    try {
      const input = await readFile(String(request.path));
      const out = await thumbnail(input);
      const ms = performance.now() - t0;
      const cpu = process.cpuUsage(cpu0);
      reply({
        ms,
        cpuMs: (cpu.user + cpu.system) / 1000,
        bytes: out.data.length,
        width: out.width,
        height: out.height,
      });
    } catch (error) {
      reply({ error: error instanceof Error ? `${error.name}: ${error.message}` : String(error) });
    }
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
