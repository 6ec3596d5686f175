/**
 * Cold-start benchmark: wall time from spawning a fresh Node process to the handler module
 * being ready (modules loaded, configuration read, S3 client built), and to its first
 * thumbnail written to a local S3-protocol server (s3rver), over several processes. Measured
 * for bare Node (the floor), the handler as compiled (dist/handler/index.js) and, when the
 * container build's bundle exists, the bundle.
 */
import { spawn } from "node:child_process";
import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { PutObjectCommand } from "@aws-sdk/client-s3";
import S3rver from "s3rver";
import { createS3Client } from "../../handler/s3-client";
import { createSequencer, s3Event } from "../../handler/synthetic-event";
import type { CorpusImage } from "./corpus";
import { withLocalCredentials } from "./local-credentials";
import { percentile, round } from "./stats";

export interface ColdStartVariant {
  name: string;
  module: string;
  readyP50Ms: number;
  readyMaxMs: number;
  firstP50Ms: number;
  firstMaxMs: number;
  samples: { readyMs: number; firstMs?: number }[];
}

export interface ColdStartResult {
  processes: number;
  image: string;
  variants: ColdStartVariant[];
  notes: string[];
}

const SOURCE = "bench-uploads";
const DEST = "bench-thumbs";

/** Where the container build puts the esbuild bundle of the handler (scripts/, Dockerfile). */
const BUNDLE_CANDIDATES = [
  "dist/bundle/index.js",
  "dist/lambda/index.js",
  "build/handler/index.js",
];

interface Options {
  processes: number;
  image: CorpusImage;
  bundle?: string;
  log: (line: string) => void;
}

export function benchColdStart(options: Options): Promise<ColdStartResult> {
  return withLocalCredentials(() => run(options));
}

async function run(options: Options): Promise<ColdStartResult> {
  const notes: string[] = [];
  const handlerModule = resolve(__dirname, "../../handler/index.js");
  const variants: { name: string; module?: string }[] = [
    { name: "node (empty)" },
    { name: "handler", module: handlerModule },
  ];
  const bundle = options.bundle ?? (await findBundle());
  if (bundle) variants.push({ name: "bundle", module: bundle });
  else notes.push(`no handler bundle found (looked for ${BUNDLE_CANDIDATES.join(", ")})`);

  const directory = await mkdtemp(join(tmpdir(), "bench-cold-"));
  const server = new S3rver({
    address: "127.0.0.1",
    port: 0,
    directory,
    silent: true,
    configureBuckets: [{ name: SOURCE }, { name: DEST }],
  });
  const address = await server.run();
  const endpoint = `http://127.0.0.1:${address.port}`;
  const s3 = createS3Client({ region: "us-east-1", endpoint });
  const body = await readFile(options.image.path);
  const sequencer = createSequencer();
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    DEST_BUCKET: DEST,
    SOURCE_BUCKET: SOURCE,
    AWS_REGION: "us-east-1",
    AWS_ENDPOINT_URL_S3: endpoint,
    AWS_ACCESS_KEY_ID: "S3RVER",
    AWS_SECRET_ACCESS_KEY: "S3RVER",
    LOG_LEVEL: "warn",
  };

  const results: ColdStartVariant[] = [];
  try {
    // Interleave variants process by process, so background load hits them alike.
    const samples = new Map<string, { readyMs: number; firstMs?: number }[]>();
    for (let i = 0; i < options.processes; i++) {
      for (const variant of variants) {
        let event: string | undefined;
        if (variant.module) {
          const key = `cold/${variant.name}-${i}-${options.image.name}`;
          const put = await s3.send(new PutObjectCommand({ Bucket: SOURCE, Key: key, Body: body }));
          event = JSON.stringify(
            s3Event(
              {
                eventName: "ObjectCreated:Put",
                bucket: SOURCE,
                key,
                size: body.length,
                eTag: (put.ETag ?? "").replace(/"/g, ""),
              },
              { region: "us-east-1", sequencer },
            ),
          );
        }
        const sample = await probeOnce(variant.module, { ...env, BENCH_EVENT: event ?? "" });
        samples.set(variant.name, [...(samples.get(variant.name) ?? []), sample]);
      }
      options.log(`  cold start ${i + 1}/${options.processes}`);
    }
    for (const variant of variants) {
      const list = samples.get(variant.name) ?? [];
      const ready = list.map((s) => s.readyMs);
      const first = list.flatMap((s) => (s.firstMs === undefined ? [] : [s.firstMs]));
      results.push({
        name: variant.name,
        module: variant.module ?? "(none)",
        readyP50Ms: round(percentile(ready, 50)),
        readyMaxMs: round(Math.max(...ready)),
        firstP50Ms: round(percentile(first, 50)),
        firstMaxMs: first.length ? round(Math.max(...first)) : Number.NaN,
        samples: list.map((s) => ({
          readyMs: round(s.readyMs),
          firstMs: s.firstMs && round(s.firstMs),
        })),
      });
    }
  } finally {
    s3.destroy();
    await server.close();
    await rm(directory, { recursive: true, force: true });
  }
  return { processes: options.processes, image: options.image.name, variants: results, notes };
}

/** One fresh process; times measured on this side, from spawn to each line. */
function probeOnce(
  module: string | undefined,
  env: NodeJS.ProcessEnv,
): Promise<{ readyMs: number; firstMs?: number }> {
  const args = [join(__dirname, "cold-start-probe.js"), ...(module ? [module] : [])];
  return new Promise((resolvePromise, reject) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, args, { env, stdio: ["ignore", "pipe", "pipe"] });
    let readyMs: number | undefined;
    let firstMs: number | undefined;
    let stderr = "";
    let failure: string | undefined;
    child.stderr.on("data", (chunk: Buffer) => {
      stderr = (stderr + chunk.toString()).slice(-2000);
    });
    createInterface({ input: child.stdout }).on("line", (line) => {
      const now = performance.now() - t0;
      let message: { probe?: string; results?: { outcome?: string; code?: string }[] };
      try {
        message = JSON.parse(line);
      } catch {
        return;
      }
      if (message.probe === "ready") readyMs = now;
      if (message.probe === "done") {
        firstMs = now;
        const outcome = message.results?.[0]?.outcome;
        if (outcome !== "created")
          failure = `handler outcome ${outcome} ${message.results?.[0]?.code ?? ""}`;
      }
    });
    const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
    child.on("close", (code) => {
      clearTimeout(timer);
      if (readyMs === undefined || code !== 0 || failure) {
        reject(
          new Error(`cold-start probe failed (${failure ?? `exit ${code}`}): ${stderr.trim()}`),
        );
      } else {
        resolvePromise({ readyMs, firstMs });
      }
    });
  });
}

async function findBundle(): Promise<string | undefined> {
  for (const candidate of BUNDLE_CANDIDATES) {
    const path = resolve(__dirname, "../../..", candidate);
    if (
      await stat(path).then(
        (s) => s.isFile(),
        () => false,
      )
    )
      return path;
  }
  return undefined;
}
