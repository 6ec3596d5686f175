/**
 * The engine benchmark's worker (engine.ts's workerRunner): `node engine-worker.js IMPL` loads
 * one of IMPLS, then times each file it is sent from read to the last encoded output.
 */
import { readFile } from "node:fs/promises";
import sharp from "sharp";
import { IMPLS, type Impl } from "./engine";
import { plainThumbnail } from "./plain-sharp";
import { PRODUCT_RENDITIONS } from "./product-renditions";

/** Makes every output of one input; returns what the engine makes ("name spec, ...") too. */
async function load(impl: Impl): Promise<[(input: Buffer) => Promise<unknown>, string?]> {
  if (impl === "sharp-plain") return [plainThumbnail];
  const engine = await import("../handler/engine/index");
  engine.configureSharp();
  const renditions =
    impl === "engine"
      ? [engine.defaultRendition()]
      : engine.parseRenditions(JSON.stringify(PRODUCT_RENDITIONS), "the bench's renditions");
  const made = renditions.map((r) => `${r.name} ${engine.renditionSpec(r)}`).join(", ");
  return [(input) => engine.makeRenditions(input, renditions), made];
}

const reply = (message: object) => process.send?.(message);

async function main(impl: string): Promise<void> {
  if (!(IMPLS as readonly string[]).includes(impl)) {
    throw new Error(`unknown implementation ${impl}; accepted: ${IMPLS.join(", ")}`);
  }
  const [thumbnail, made] = await load(impl as Impl);
  const threads = Number(process.env.BENCH_THREADS ?? "1");
  if (threads > 0) sharp.concurrency(threads); // after configureSharp: the bench decides
  const cache = sharp.cache(); // no argument: reads the limits the engine chose
  const settings = {
    "sharp.concurrency": sharp.concurrency(),
    UV_THREADPOOL_SIZE: process.env.UV_THREADPOOL_SIZE ?? "default (4)",
    "sharp.cache": `${cache.memory.max} MB, ${cache.files.max} files, ${cache.items.max} ops`,
    ...(made && { renditions: made }),
  };
  reply({ ready: true, settings });
  process.on("message", async (request: { path?: string; rss?: boolean }) => {
    if (request.rss) {
      reply({ maxRssKb: process.resourceUsage().maxRSS });
      return;
    }
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    try {
      await thumbnail(await readFile(String(request.path)));
      const ms = performance.now() - t0;
      const cpu = process.cpuUsage(cpu0);
      reply({ ms, cpuMs: (cpu.user + cpu.system) / 1000 });
    } catch (error) {
      reply({ error: error instanceof Error ? `${error.name}: ${error.message}` : String(error) });
    }
  });
}

main(process.argv[2] ?? "engine").catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
