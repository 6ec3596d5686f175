/**
 * End-to-end benchmark through the local service (cli/serve): a thumbnail is visible when the
 * handler reports it written (a HEAD confirms each afterwards). One upload at a time (latency,
 * overhead beyond engine time), then N at once (time until all visible, latency under load).
 */
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { HeadObjectCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import { LOCAL_CREDENTIALS } from "../cli/serve/credentials";
import { startService } from "../cli/serve/service";
import { configureSharp, DEFAULT_OPTIONS, makeThumbnail } from "../handler/engine";
import type { Logger } from "../handler/log";
import { createS3Client } from "../handler/s3-client";
import type { CorpusImage } from "./corpus";
import type { BenchOptions } from "./index";
import { log, percentile, round } from "./stats";

export type EndToEndResult = Awaited<ReturnType<typeof benchEndToEnd>>;

const [SOURCE, DEST] = ["bench-uploads", "bench-thumbs"];
const CONCURRENCY = 4;

export async function benchEndToEnd(options: BenchOptions, image: CorpusImage) {
  configureSharp(); // the engine and the service run in this process
  const body = await readFile(image.path);
  const engineMs = await engineAlone(body);
  const written = new Map<string, (at: number) => void>();
  const serviceLog: Logger = {
    log(level, fields) {
      if (fields.outcome === "created" && typeof fields.key === "string") {
        written.get(fields.key)?.(performance.now());
      } else if (level === "warn" || level === "error") {
        log(`  service ${level}: ${JSON.stringify(fields).slice(0, 300)}`);
      }
    },
  };
  const dataDir = await mkdtemp(join(tmpdir(), "bench-e2e-"));
  const service = await startService({
    host: "127.0.0.1",
    port: 0,
    dataDir,
    sourceBucket: SOURCE,
    destBucket: DEST,
    region: "us-east-1",
    handlerEnv: { LOG_LEVEL: "info" },
    concurrency: CONCURRENCY,
    queueCapacity: 10_000,
    retryDelaysMs: [1000, 2000],
    reconcileRetryMs: 1000,
    log: serviceLog,
  });
  const { endpoint } = service;
  const s3 = createS3Client({ region: "us-east-1", endpoint, credentials: LOCAL_CREDENTIALS });
  try {
    await service.idle(); // start-up reconciliation of the empty bucket
    const upload = async (key: string) => {
      const visible = new Promise<number>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no thumbnail of ${key} in 60 s`)), 60_000);
        written.set(key, (at) => {
          clearTimeout(timer);
          resolve(at);
        });
      });
      const t0 = performance.now();
      await s3.send(new PutObjectCommand({ Bucket: SOURCE, Key: key, Body: body }));
      const putMs = performance.now() - t0;
      const at = await visible;
      written.delete(key);
      return { ms: at - t0, putMs };
    };
    await upload("e2e/warm-up.jpg");
    const seqKeys = Array.from({ length: options.quick ? 3 : 10 }, (_, i) => `e2e/seq-${i}.jpg`);
    const sequential = [];
    for (const key of seqKeys) sequential.push(await upload(key));
    log(`  end to end: ${seqKeys.length} uploads one at a time done`);
    const burstKeys = Array.from({ length: options.uploads }, (_, i) => `e2e/burst-${i}.jpg`);
    const t0 = performance.now();
    const burst = (await Promise.all(burstKeys.map(upload))).map((u) => u.ms);
    const totalMs = performance.now() - t0;
    log(`  end to end: ${options.uploads} uploads at once done`);
    for (const key of [...seqKeys, ...burstKeys]) {
      const { ContentType } = await s3.send(new HeadObjectCommand({ Bucket: DEST, Key: key }));
      if (ContentType !== "image/jpeg") throw new Error(`thumbnail ${key} is ${ContentType}`);
    }
    const latency = sequential.map((u) => u.ms);
    const afterPut = sequential.map((u) => u.ms - u.putMs);
    const puts = sequential.map((u) => u.putMs);
    return {
      image: image.name,
      uploads: options.uploads, // of the burst phase
      totalSeconds: round(totalMs / 1000, 2),
      throughput: round((options.uploads / totalMs) * 1000, 1),
      latencyP50Ms: round(percentile(latency, 50)),
      latencyP95Ms: round(percentile(latency, 95)),
      putP50Ms: round(percentile(puts, 50)),
      engineMs: round(engineMs),
      /** Beyond engine time: from PUT start (the upload included) and from PUT acknowledged. */
      overheadP50Ms: round(percentile(latency, 50) - engineMs),
      overheadAfterPutP50Ms: round(percentile(afterPut, 50) - engineMs),
      burstLatencyP50Ms: round(percentile(burst, 50)),
      burstLatencyP95Ms: round(percentile(burst, 95)),
      serviceConcurrency: CONCURRENCY,
    };
  } finally {
    s3.destroy();
    await service.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
}

/** Engine alone, same process, same image (p50): the pipeline's overhead is measured from it. */

async function engineAlone(body: Buffer): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < 6; i++) {
    const t0 = performance.now();
    await makeThumbnail(body, DEFAULT_OPTIONS);
    if (i > 0) times.push(performance.now() - t0); // the first run warms the codecs
  }
  return percentile(times, 50);
}
