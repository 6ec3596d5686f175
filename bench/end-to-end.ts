/**
 * End-to-end benchmark through the local service (cli/serve): uploads go to its S3-protocol
 * server with the AWS SDK, its event delivery runs the handler, and a thumbnail counts as
 * visible when the handler reports it written (its PutObject has returned) and a HEAD on the
 * destination bucket confirms it.
 *
 * Two phases, both with the same image: one upload at a time (latency and the overhead beyond
 * engine time, the figure the target is about), then N uploads at once (time until every
 * thumbnail is visible, throughput, latency under load).
 */
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { HeadObjectCommand, PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { LOCAL_CREDENTIALS, startService } from "../cli/serve/service";
import { configureSharp, DEFAULT_OPTIONS, makeThumbnail } from "../handler/engine";
import type { Logger } from "../handler/log";
import { createS3Client } from "../handler/s3-client";
import type { CorpusImage } from "./corpus";
import { percentile, round } from "./stats";

export interface EndToEndResult {
  image: string;
  /** Uploads of the burst phase. */
  uploads: number;
  totalSeconds: number;
  throughput: number;
  /** One upload at a time: PUT start to thumbnail visible. */
  latencyP50Ms: number;
  latencyP95Ms: number;
  /** One upload at a time: the PUT itself (request sent to response received), p50. */
  putP50Ms: number;
  /** Engine alone on the same image in the same process (p50). */
  engineMs: number;
  /** PUT start to visible, minus engine time: includes sending the upload itself. */
  overheadP50Ms: number;
  /** PUT acknowledged to visible, minus engine time: what the pipeline adds after the upload. */
  overheadAfterPutP50Ms: number;
  /** Burst phase: PUT start to thumbnail visible. */
  burstLatencyP50Ms: number;
  burstLatencyP95Ms: number;
  serviceConcurrency: number;
  skipped?: string;
}

const SOURCE = "bench-uploads";
const DEST = "bench-thumbs";

interface Options {
  image: CorpusImage;
  sequential: number;
  burst: number;
  concurrency: number;
  log: (line: string) => void;
}

export async function benchEndToEnd(options: Options): Promise<EndToEndResult> {
  configureSharp(); // the engine and the service run in this process
  const body = await readFile(options.image.path);

  // Engine alone, same process, same image: what the pipeline adds is measured against this.
  const engineTimes: number[] = [];
  for (let i = 0; i < 6; i++) {
    const t0 = performance.now();
    await makeThumbnail(body, DEFAULT_OPTIONS);
    if (i > 0) engineTimes.push(performance.now() - t0); // first run warms the codecs
  }
  const engineMs = percentile(engineTimes, 50);

  const written = new Map<string, (at: number) => void>();
  const log: Logger = {
    log(level, fields) {
      if (fields.outcome === "created" && typeof fields.key === "string") {
        written.get(fields.key)?.(performance.now());
      } else if (level === "warn" || level === "error") {
        options.log(`  service ${level}: ${JSON.stringify(fields).slice(0, 300)}`);
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
    concurrency: options.concurrency,
    queueCapacity: 10_000,
    retryDelaysMs: [1000, 2000],
    reconcileRetryMs: 1000,
    log,
  });
  const s3 = createS3Client({
    region: "us-east-1",
    endpoint: service.endpoint,
    credentials: LOCAL_CREDENTIALS,
  });
  try {
    await service.idle(); // start-up reconciliation of the empty bucket

    const puts: number[] = [];
    const upload = async (key: string): Promise<number> => {
      const visible = new Promise<number>((resolve) => written.set(key, resolve));
      const t0 = performance.now();
      await s3.send(new PutObjectCommand({ Bucket: SOURCE, Key: key, Body: body }));
      puts.push(performance.now() - t0);
      const at = await withTimeout(visible, 60_000, `thumbnail of ${key} never appeared`);
      written.delete(key);
      return at - t0;
    };

    await upload("e2e/warm-up.jpg");
    const sequential: number[] = [];
    const afterPut: number[] = [];
    puts.length = 0;
    for (let i = 0; i < options.sequential; i++) {
      sequential.push(await upload(`e2e/seq-${i}.jpg`));
      afterPut.push((sequential.at(-1) ?? 0) - (puts.at(-1) ?? 0));
    }
    const putP50Ms = percentile(puts, 50);
    options.log(`  end to end: ${options.sequential} uploads one at a time done`);

    const t0 = performance.now();
    const burst = await Promise.all(
      Array.from({ length: options.burst }, (_, i) => upload(`e2e/burst-${i}.jpg`)),
    );
    const totalMs = performance.now() - t0;
    options.log(`  end to end: ${options.burst} uploads at once done`);

    const keys = [
      ...Array.from({ length: options.sequential }, (_, i) => `e2e/seq-${i}.jpg`),
      ...Array.from({ length: options.burst }, (_, i) => `e2e/burst-${i}.jpg`),
    ];
    await confirmVisible(s3, keys);

    const latencyP50Ms = percentile(sequential, 50);
    return {
      image: options.image.name,
      uploads: options.burst,
      totalSeconds: round(totalMs / 1000, 2),
      throughput: round((options.burst / totalMs) * 1000, 1),
      latencyP50Ms: round(latencyP50Ms),
      latencyP95Ms: round(percentile(sequential, 95)),
      putP50Ms: round(putP50Ms),
      engineMs: round(engineMs),
      overheadP50Ms: round(latencyP50Ms - engineMs),
      overheadAfterPutP50Ms: round(percentile(afterPut, 50) - engineMs),
      burstLatencyP50Ms: round(percentile(burst, 50)),
      burstLatencyP95Ms: round(percentile(burst, 95)),
      serviceConcurrency: options.concurrency,
    };
  } finally {
    s3.destroy();
    await service.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
}

async function confirmVisible(s3: S3Client, keys: string[]): Promise<void> {
  for (const key of keys) {
    const head = await s3.send(new HeadObjectCommand({ Bucket: DEST, Key: key }));
    if (head.ContentType !== "image/jpeg")
      throw new Error(`thumbnail ${key} is ${head.ContentType}`);
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(message)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
