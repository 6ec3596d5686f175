/**
 * Cold-start benchmark: wall time from spawning a fresh Node process to the handler module
 * being ready (modules loaded, configuration read, S3 client built), and to its first
 * thumbnail written to a local S3-protocol server (s3rver), over several processes. Measured
 * for bare Node (the floor), the plain sharp + S3 client handler the target is stated against,
 * the handler as compiled (dist/handler/index.js) and the handler bundled the way the
 * image's build stage bundles it (scripts/bundle.js) (or a bundle given with --bundle); on Node >= 22.1 also
 * that bundle with a warm V8 compile cache. `--node` runs them on another Node binary, e.g. the
 * Lambda runtime's major version.
 */
import { execFile, spawn } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { promisify } from "node:util";
import { PutObjectCommand } from "@aws-sdk/client-s3";
import S3rver from "s3rver";
import { LOCAL_CREDENTIALS } from "../cli/serve/service";
import { createSequencer, s3Event } from "../cli/synthetic-event";
import { createS3Client } from "../handler/s3-client";
import { normalizeETag } from "../handler/s3-event";
import { buildBundle } from "../stacks/bundle";
import type { CorpusImage } from "./corpus";
import { percentile, round } from "./stats";

export interface ColdStartVariant {
  name: string;
  module: string;
  readyP50Ms: number;
  readyMaxMs: number;
  firstP50Ms: number;
  firstMaxMs: number;
  /** CPU time of the process (all threads) when ready: steadier than wall time on a busy machine. */
  readyCpuP50Ms: number;
  samples: Sample[];
}

export interface ColdStartResult {
  processes: number;
  image: string;
  variants: ColdStartVariant[];
  notes: string[];
}

const exec = promisify(execFile);

interface Sample {
  readyMs: number;
  readyCpuMs: number;
  firstMs?: number;
}

const SOURCE = "bench-uploads";
const DEST = "bench-thumbs";

interface Options {
  processes: number;
  image: CorpusImage;
  bundle?: string;
  /** The Node binary to run the processes with (default: this one). */
  node?: string;
  /** Where the bundle is built when none is given. */
  cacheDir: string;
  log: (line: string) => void;
}

export async function benchColdStart(options: Options): Promise<ColdStartResult> {
  const notes: string[] = [];
  const node = options.node ?? process.execPath;
  const version = (await exec(node, ["--version"])).stdout.trim();
  notes.push(`cold start: processes run ${node} (${version})`);
  const directory = await mkdtemp(join(tmpdir(), "bench-cold-"));
  const variants: Variant[] = [
    { name: "node (empty)" },
    { name: "plain sharp + S3 client", module: join(__dirname, "cold-start-plain.js") },
    { name: "handler", module: resolve(__dirname, "../handler/index.js") },
  ];
  const bundle = options.bundle
    ? resolve(options.bundle)
    : await bundleFor(options.cacheDir, version, notes);
  if (bundle) variants.push({ name: "bundle", module: bundle });
  if (bundle && (await supportsCompileCache(node))) {
    const cache = join(directory, "compile-cache");
    variants.push({
      name: "bundle + compile cache",
      module: bundle,
      warm: true,
      env: { BENCH_COMPILE_CACHE: cache },
    });
    notes.push(
      "bundle + compile cache: Node's V8 compile cache, filled by one warm-up process (not shipped in the image)",
    );
  }

  const server = new S3rver({
    address: "127.0.0.1",
    port: 0,
    directory,
    silent: true,
    configureBuckets: [{ name: SOURCE }, { name: DEST }],
  });
  const address = await server.run();
  const endpoint = `http://127.0.0.1:${address.port}`;
  const s3 = createS3Client({ region: "us-east-1", endpoint, credentials: LOCAL_CREDENTIALS });
  const body = await readFile(options.image.path);
  const sequencer = createSequencer();
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

  const results: ColdStartVariant[] = [];
  try {
    // Interleave variants process by process, so background load hits them alike.
    const samples = new Map<string, Sample[]>();
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
                eTag: normalizeETag(put.ETag ?? ""),
              },
              { region: "us-east-1", sequencer },
            ),
          );
        }
        const probeEnv = { ...env, ...variant.env, BENCH_EVENT: event ?? "" };
        if (variant.warm && i === 0) await probeOnce(node, variant.module, probeEnv);
        const sample = await probeOnce(node, variant.module, probeEnv);
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
        readyCpuP50Ms: round(
          percentile(
            list.map((s) => s.readyCpuMs),
            50,
          ),
        ),
        firstP50Ms: round(percentile(first, 50)),
        firstMaxMs: first.length ? round(Math.max(...first)) : Number.NaN,
        samples: list.map((s) => ({
          readyMs: round(s.readyMs),
          readyCpuMs: round(s.readyCpuMs),
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

interface Variant {
  name: string;
  module?: string;
  env?: Record<string, string>;
  /** Run one unmeasured process first (to fill a cache). */
  warm?: boolean;
}

async function supportsCompileCache(node: string): Promise<boolean> {
  const { stdout } = await exec(node, ["-p", "typeof require('node:module').enableCompileCache"]);
  return stdout.trim() === "function";
}

/** One fresh process; times measured on this side, from spawn to each line. */
function probeOnce(
  node: string,
  module: string | undefined,
  env: NodeJS.ProcessEnv,
): Promise<Sample> {
  const args = [join(__dirname, "cold-start-probe.js"), ...(module ? [module] : [])];
  return new Promise((resolvePromise, reject) => {
    const t0 = performance.now();
    const child = spawn(node, args, { env, stdio: ["ignore", "pipe", "pipe"] });
    let readyMs: number | undefined;
    let readyCpuMs = Number.NaN;
    let firstMs: number | undefined;
    let stderr = "";
    let failure: string | undefined;
    child.stderr.on("data", (chunk: Buffer) => {
      stderr = (stderr + chunk.toString()).slice(-2000);
    });
    createInterface({ input: child.stdout }).on("line", (line) => {
      const now = performance.now() - t0;
      let message: {
        probe?: string;
        cpuMs?: number;
        results?: { outcome?: string; code?: string }[];
      };
      try {
        message = JSON.parse(line);
      } catch {
        return;
      }
      if (message.probe === "ready") {
        readyMs = now;
        readyCpuMs = message.cpuMs ?? Number.NaN;
      }
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
        resolvePromise({ readyMs, readyCpuMs, firstMs });
      }
    });
  });
}

/**
 * The handler bundled as the image's build stage bundles it (scripts/bundle.js's options), with
 * only the output file and the target changed to the measured Node. Placed under the cache folder
 * inside the repository so the external modules (sharp, libheif-js) resolve from its node_modules.
 */
async function bundleFor(
  cacheDir: string,
  nodeVersion: string,
  notes: string[],
): Promise<string | undefined> {
  const outfile = join(cacheDir, "bundle", "index.js");
  const target = `node${nodeVersion.replace(/^v/, "").split(".")[0]}`;
  try {
    await buildBundle(resolve(__dirname, "../.."), { outfile, target });
    notes.push(`bundle: scripts/bundle.js's esbuild options, target ${target}`);
    return outfile;
  } catch (error) {
    const reason = error instanceof Error ? error.message.split("\n")[0] : String(error);
    notes.push(`bundle not measured: ${reason}`);
    return undefined;
  }
}
