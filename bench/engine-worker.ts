/**
 * Child process run by the engine benchmark: loads one thumbnailer (our engine with its single
 * default rendition, our engine making the 3 renditions of a product page from one decode, or
 * the plain sharp pipeline it is measured against), then thumbnails the files it is sent, one
 * at a time, timing each from file read to the last encoded output. Protocol: see
 * worker-client.ts.
 *
 * Usage: node engine-worker.js IMPL   (one of IMPLS; threads from BENCH_THREADS, default 1)
 */
import { readFile } from "node:fs/promises";
import { createInterface } from "node:readline";
import sharp from "sharp";
import { IMPLS, type Impl } from "./engine";
import { plainThumbnail } from "./plain-sharp";
import { PRODUCT_RENDITIONS } from "./product-renditions";

/** Bytes of all outputs; width and height of the first. */
type Thumbnailer = (input: Buffer) => Promise<{ bytes: number; width: number; height: number }>;

/** What the engine makes of each file, for the report: "name spec, ...". */
let made: string | undefined;

async function load(impl: Impl): Promise<Thumbnailer> {
  if (impl === "sharp-plain") {
    return async (input) => {
      const { data, width, height } = await plainThumbnail(input);
      return { bytes: data.length, width, height };
    };
  }
  const engine = await import("../handler/engine/index");
  engine.configureSharp();
  const renditions =
    impl === "engine"
      ? [engine.defaultRendition()]
      : engine.parseRenditions(JSON.stringify(PRODUCT_RENDITIONS), "the bench's renditions");
  made = renditions.map((r) => `${r.name} ${engine.renditionSpec(r)}`).join(", ");
  return async (input) => {
    const { outputs } = await engine.makeRenditions(input, renditions);
    const bytes = outputs.reduce((total, output) => total + output.data.length, 0);
    return { bytes, width: outputs[0]?.width ?? 0, height: outputs[0]?.height ?? 0 };
  };
}

function reply(message: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(message)}\n`);
}

async function main(): Promise<void> {
  const impl = process.argv[2] ?? "engine";
  if (!(IMPLS as readonly string[]).includes(impl)) {
    throw new Error(`unknown implementation ${impl}; accepted: ${IMPLS.join(", ")}`);
  }
  const thumbnail = await load(impl as Impl);
  const threads = Number(process.env.BENCH_THREADS ?? "1");
  if (threads > 0) sharp.concurrency(threads); // after configureSharp: the bench decides
  const cache = sharp.cache(); // no argument: reads the limits the engine chose
  reply({
    ready: true,
    settings: {
      "sharp.concurrency": sharp.concurrency(),
      UV_THREADPOOL_SIZE: process.env.UV_THREADPOOL_SIZE ?? "default (4)",
      "sharp.cache": `${cache.memory.max} MB, ${cache.files.max} files, ${cache.items.max} ops`,
      ...(made && { renditions: made }),
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
        bytes: out.bytes,
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
