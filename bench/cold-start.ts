/**
 * Cold-start benchmark: wall time from spawning a fresh Node process to the handler module ready
 * (modules loaded, configuration read, S3 client built) and to its first thumbnail written to a
 * local S3 server, for bare Node, plain sharp + S3 client (the target's reference), the compiled
 * handler and the image's bundle (or --bundle); on Node >= 22.1 also with a warm compile cache.
 */
import { execFile, spawn } from "node:child_process";
import { once } from "node:events";
import { readFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { promisify } from "node:util";
import { PutObjectCommand } from "@aws-sdk/client-s3";
import { LOCAL_CREDENTIALS } from "../cli/serve/credentials";
import { startTemporaryS3Server } from "../cli/serve/s3-server";
import { createSequencer, s3Event } from "../cli/synthetic-event";
import { createS3Client } from "../handler/s3-client";
import { normalizeETag } from "../handler/s3-event";
import { buildBundle } from "../stacks/bundle";
import type { CorpusImage } from "./corpus";
import type { BenchOptions } from "./index";
import { errorText, log, percentile, ROOT, round } from "./stats";

export type ColdStartResult = Awaited<ReturnType<typeof benchColdStart>>;

const exec = promisify(execFile);
const [SOURCE, DEST] = ["bench-uploads", "bench-thumbs"];

type Sample = { readyMs: number; readyCpuMs: number; firstMs?: number };
/** `compileCache`: Node's, filled by one unmeasured process first, as the image's build does. */
type Variant = { name: string; module?: string; compileCache?: boolean };

export async function benchColdStart(options: BenchOptions, image: CorpusImage) {
  const node = options.node ?? process.execPath;
  const version = (await exec(node, ["--version"])).stdout.trim();
  const notes = [`cold start: processes run ${node} (${version})`];
  const variants: Variant[] = [
    { name: "node (empty)" },
    { name: "plain sharp + S3 client", module: join(__dirname, "cold-start-plain.js") },
    { name: "handler", module: resolve(__dirname, "../handler/index.js") },
  ];
  const bundle = options.bundle ? resolve(options.bundle) : await bundleFor(version, notes);
  if (bundle) variants.push({ name: "bundle", module: bundle });
  const { stdout } = await exec(node, ["-p", "typeof require('node:module').enableCompileCache"]);
  if (bundle && stdout.trim() === "function") {
    variants.push({ name: "bundle + compile cache", module: bundle, compileCache: true });
    notes.push("bundle + compile cache: filled as the image's build fills it (no event handled)");
  }
  const server = await startTemporaryS3Server([SOURCE, DEST]);
  const { endpoint } = server;

  const s3 = createS3Client({ region: "us-east-1", endpoint, credentials: LOCAL_CREDENTIALS });
  const body = await readFile(image.path);
  const sequencer = createSequencer();
  const upload = async (key: string) => {
    const put = await s3.send(new PutObjectCommand({ Bucket: SOURCE, Key: key, Body: body }));
    const eTag = normalizeETag(put.ETag ?? "");
    const change = { eventName: "ObjectCreated:Put", bucket: SOURCE, key, size: body.length, eTag };
    return JSON.stringify(s3Event(change, { region: "us-east-1", sequencer }));
  };
  // The processes get s3rver's credentials as Lambda gives a function its role's: in their
  // environment (and no session token of the caller's).
  const { AWS_SESSION_TOKEN: _callersToken, ...callersEnv } = process.env;
  const env: NodeJS.ProcessEnv = {
    ...callersEnv,
    DEST_BUCKET: DEST,
    SOURCE_BUCKET: SOURCE,
    AWS_REGION: "us-east-1",
    AWS_ENDPOINT_URL_S3: endpoint,
    AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
    LOG_LEVEL: "warn",
  };
  const samples = new Map<Variant, Sample[]>(variants.map((variant) => [variant, []]));
  try {
    // Interleaved process by process, so background load hits every variant alike.
    for (let i = 0; i < options.processes; i++) {
      for (const [variant, list] of samples) {
        const event = variant.module ? await upload(`cold/${variant.name}-${i}-${image.name}`) : "";
        const cache = variant.compileCache ? join(server.dir, "compile-cache") : "";
        const probeEnv = { ...env, BENCH_COMPILE_CACHE: cache, BENCH_EVENT: event };
        // Like the image's build step, the warm-up loads the handler and handles no event.
        if (cache && i === 0)
          await probeOnce(node, variant.module, { ...probeEnv, BENCH_EVENT: "" });
        list.push(await probeOnce(node, variant.module, probeEnv));
      }
      log(`  cold start ${i + 1}/${options.processes}`);
    }
  } finally {
    s3.destroy();
    await server.close();
  }
  const results = [...samples].map(([variant, list]) => summarise(variant, list));
  return { processes: options.processes, image: image.name, variants: results, notes };
}

function summarise(variant: Variant, list: Sample[]) {
  const ready = list.map((s) => s.readyMs);
  const first = list.flatMap((s) => (s.firstMs === undefined ? [] : [s.firstMs]));
  const cpu = list.map((s) => s.readyCpuMs);
  return {
    name: variant.name,
    module: variant.module ?? "(none)",
    readyP50Ms: round(percentile(ready, 50)),
    readyMaxMs: round(Math.max(...ready)),
    /** CPU time of the process (all threads) when ready: steadier than wall time when busy. */
    readyCpuP50Ms: round(percentile(cpu, 50)),
    firstP50Ms: round(percentile(first, 50)),
    firstMaxMs: first.length ? round(Math.max(...first)) : Number.NaN,
    samples: list.map((s) => ({
      readyMs: round(s.readyMs),
      readyCpuMs: round(s.readyCpuMs),
      firstMs: s.firstMs && round(s.firstMs),
    })),
  };
}

/** One fresh process, timed on this side from spawn to each line. */
async function probeOnce(node: string, module: string | undefined, env: NodeJS.ProcessEnv) {
  const args = [join(__dirname, "probe.js"), ...(module ? [module] : [])];
  const t0 = performance.now();
  const stdio: ["ignore", "pipe", "pipe"] = ["ignore", "pipe", "pipe"];
  const child = spawn(node, args, { env, stdio, timeout: 60_000, killSignal: "SIGKILL" });
  let stderr = "";
  child.stderr.on("data", (chunk: Buffer) => (stderr = `${stderr}${chunk}`.slice(-2000)));
  const sample: Sample = { readyMs: Number.NaN, readyCpuMs: Number.NaN };
  let failure: string | undefined;
  createInterface({ input: child.stdout }).on("line", (line) => {
    const now = performance.now() - t0;
    // The probe's lines only: the handler's own JSON logs go to stdout too.
    if (!line.startsWith(`{"probe":`)) return;
    const message = JSON.parse(line) as {
      probe: "ready" | "done";
      cpuMs?: number;
      results?: { outcome?: string; code?: string }[];
    };
    if (message.probe === "ready") {
      sample.readyMs = now;
      sample.readyCpuMs = message.cpuMs ?? Number.NaN;
    } else if (message.probe === "done") {
      sample.firstMs = now;
      const result = message.results?.[0];
      if (result?.outcome !== "created") {
        failure = `handler outcome ${result?.outcome} ${result?.code ?? ""}`;
      }
    }
  });
  const [code] = await once(child, "close");
  if (Number.isNaN(sample.readyMs) || code !== 0 || failure) {
    throw new Error(`cold-start probe failed (${failure ?? `exit ${code}`}): ${stderr.trim()}`);
  }
  return sample;
}

/**
 * Beside the compiled bench, not in the corpus cache (which may be anywhere): inside the
 * project, so sharp and libheif-js resolve from its node_modules as they do in the image.
 */
async function bundleFor(nodeVersion: string, notes: string[]) {
  const outfile = join(ROOT, "dist", "bench", "bundle", "index.js");
  const target = `node${nodeVersion.replace(/^v/, "").split(".")[0]}`;
  try {
    await buildBundle(ROOT, { outfile, target });
    notes.push(`bundle: scripts/bundle.js's esbuild options, target ${target}`);
    return outfile;
  } catch (error) {
    notes.push(`bundle not measured: ${errorText(error).split("\n")[0]}`);
    return undefined;
  }
}
