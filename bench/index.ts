/**
 * `npm run bench` (node dist/bench/index.js): the command line of the benchmark, developer tooling
 * and no `thumbnailer` command. Builds or reads the
 * corpus, runs the engine, cold-start and end-to-end benchmarks, prints a table or --json.
 */
import { readFileSync } from "node:fs";
import { cpus } from "node:os";
import { join, resolve } from "node:path";
import sharp from "sharp";
import { parseCommandLine } from "../cli/setting-flags";
import { integer, ok } from "../handler/parse";
import { pillowRunner, vipsRunner } from "./compare";
import { type Corpus, type CorpusImage, folderCorpus, generatedCorpus } from "./corpus";
import { runtimeEnv } from "./dockerfile";
import { benchEngines, nodeRunner, type Runner } from "./engine";
import {
  type BenchReport,
  corpusSummary,
  formatReport,
  ratios,
  renditionCosts,
  targets,
} from "./report";

export const HELP = `Usage: npm run bench -- [options]     (or: node dist/bench/index.js [options])

Measures the thumbnailer and prints a table (or JSON) with the targets met or missed.
  engine      one process, one core: images/s, MP/s, p50/p95 ms per format class, peak RSS;
              and the 3 renditions of a product page (one decode) against the 1 default
  cold-start  fresh processes: time to handler ready and to the first thumbnail
  end-to-end  uploads through the local service: PUT -> thumbnail visible, throughput

Options:
  --quick            a short run (smaller corpus, fewer rounds): under a minute once cached
  --json             print the results as JSON on stdout (progress still goes to stderr)
  --compare          also run Pillow (python3 + PIL: draft + thumbnail, one long-lived process),
                     vipsthumbnail (batched) and the plain sharp pipeline, interleaved; prints ratios
  --dir DIR          benchmark the images in DIR (recursively) instead of the generated corpus
  --only LIST        comma-separated parts to run: engine,cold-start,end-to-end (default: all)
  --rounds N         engine passes over the corpus; best of N per image (default 3, quick 1)
  --threads N        libvips threads and UV_THREADPOOL_SIZE for the engine (default 1: one
                     core, like for like with Pillow); 0 leaves the libraries' defaults
  --processes N      fresh processes for the cold start (default 5, quick 3)
  --uploads N        uploads for the end-to-end burst (default 20, quick 6)
  --also-env K=V     also run the engine with this environment variable changed (repeatable;
                     K= unsets it), interleaved with the engine as it ships, e.g.
                     --also-env MALLOC_ARENA_MAX= (without the image's setting)
  --bundle FILE      the handler bundle to measure at cold start (default: bundled here by
                     scripts/bundle.js's options, as the image does, into the cache folder)
  --node PATH        the Node binary for the cold-start processes (default: this one), e.g. a
                     Node 24 like the Lambda image's; on Node >= 22.1 the compile cache is measured too
  --cache DIR        where the generated corpus is kept (default .bench-cache)
  -h, --help         this help

The generated corpus (photo-like noise, gradients and shapes; 0.3 to 24 MP; baseline and
progressive JPEG, PNG with and without alpha, WebP, HEIC when heif-enc is installed, GIF) is
built on first use and cached. Targets are reported, never enforced: the exit code is 0 unless
the benchmark itself failed.`;

const PARTS = ["engine", "cold-start", "end-to-end"] as const;
type Part = (typeof PARTS)[number];

export async function main(argv: string[]): Promise<number> {
  let values: ReturnType<typeof parse>;
  try {
    values = parse(argv);
  } catch (error) {
    process.stderr.write(`${error instanceof Error ? error.message : error}\n\n${HELP}\n`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(`${HELP}\n`);
    return 0;
  }
  const quick = values.quick ?? false;
  const only = (values.only ?? PARTS.join(",")).split(",").map((p) => p.trim());
  const unknown = only.filter((p) => !PARTS.includes(p as Part));
  if (unknown.length > 0) {
    process.stderr.write(
      `--only: unknown part ${unknown.join(", ")}; accepted: ${PARTS.join(", ")}\n`,
    );
    return 2;
  }
  const count = (name: string, raw: string | undefined, fallback: number, minimum: number) => {
    const parsed = raw === undefined ? ok(fallback) : integer(minimum)(raw);
    if (!parsed.ok) throw new Error(`--${name} must be ${integer(minimum).accepted}`);
    return parsed.value;
  };
  let rounds: number;
  let threads: number;
  let processes: number;
  let uploads: number;
  let alsoEnv: Record<string, string>;
  try {
    rounds = count("rounds", values.rounds, quick ? 1 : 3, 1);
    threads = count("threads", values.threads, 1, 0);
    processes = count("processes", values.processes, quick ? 3 : 5, 1);
    uploads = count("uploads", values.uploads, quick ? 6 : 20, 1);
    alsoEnv = envOf(values["also-env"] ?? []);
  } catch (error) {
    process.stderr.write(`${error instanceof Error ? error.message : error}\n`);
    return 2;
  }
  const log = (line: string) => process.stderr.write(`${line}\n`);

  log(values.dir ? `reading images in ${values.dir}` : "preparing the generated corpus");
  const corpus: Corpus = values.dir
    ? await folderCorpus(values.dir)
    : await generatedCorpus({ cacheDir: resolve(values.cache ?? ".bench-cache"), quick, log });
  const notes = [...corpus.notes];

  const partial: Omit<BenchReport, "targets"> = {
    environment: {
      date: new Date().toISOString(),
      machine: cpus()[0]?.model.trim() ?? "unknown CPU",
      cpus: cpus().length,
      node: process.versions.node,
      sharp: sharp.versions.sharp ?? "?",
      libvips: sharp.versions.vips,
      threads:
        threads === 0
          ? "library default threads"
          : `engine threads ${threads} (sharp.concurrency(${threads}), UV_THREADPOOL_SIZE=${threads})`,
      quick,
    },
    corpus: corpusSummary(corpus),
    notes,
  };

  if (only.includes("engine")) {
    log("engine benchmark");
    // The engine runs with the environment the container image sets (Dockerfile ENV), so its
    // figures are those of what ships; the plain sharp pipeline runs without it.
    const shipped = runtimeEnv(readFileSync(join(__dirname, "../../Dockerfile"), "utf8"));
    const settings = Object.entries(shipped).map(([k, v]) => `${k}=${v}`);
    if (settings.length > 0)
      notes.push(`engine environment from the Dockerfile's runtime stage: ${settings.join(" ")}`);
    const runners: Runner[] = [
      nodeRunner("engine", threads, shipped),
      nodeRunner("engine-3-renditions", threads, shipped),
    ];
    if (Object.keys(alsoEnv).length > 0)
      runners.push(nodeRunner("engine", threads, shipped, alsoEnv));
    if (values.compare)
      runners.push(nodeRunner("sharp-plain", threads), pillowRunner(), vipsRunner(threads));
    partial.engine = await benchEngines(corpus.images, runners, { rounds, log });
    notes.push(...partial.engine.notes);
    partial.renditions = renditionCosts(partial.engine);
    if (values.compare) partial.ratios = ratios(partial.engine);
  }

  const reference = referenceImage(corpus.images);
  // The parts below are loaded only now: they load the engine, which blocks libvips' SVG loader
  // for the whole process, and the corpus generator draws with SVG.
  if (only.includes("cold-start")) {
    if (!reference) notes.push("cold start skipped: the corpus has no JPEG or PNG");
    else {
      log("cold-start benchmark");
      const { benchColdStart } = await import("./cold-start");
      partial.coldStart = await benchColdStart({
        processes,
        image: reference,
        bundle: values.bundle,
        node: values.node,
        cacheDir: resolve(values.cache ?? ".bench-cache"),
        log,
      });
    }
  }
  if (only.includes("end-to-end")) {
    if (!reference) notes.push("end to end skipped: the corpus has no JPEG or PNG");
    else {
      log("end-to-end benchmark");
      const { benchEndToEnd } = await import("./end-to-end");
      partial.endToEnd = await benchEndToEnd({
        image: reference,
        sequential: quick ? 3 : 10,
        burst: uploads,
        concurrency: 4,
        log,
      });
    }
  }

  const report: BenchReport = { ...partial, targets: targets(partial) };
  process.stdout.write(
    values.json ? `${JSON.stringify(report, null, 2)}\n` : `${formatReport(report)}\n`,
  );
  return 0;
}

function envOf(pairs: string[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (const pair of pairs) {
    const at = pair.indexOf("=");
    if (at < 1) throw new Error(`--also-env ${pair}: expected NAME=VALUE`);
    env[pair.slice(0, at)] = pair.slice(at + 1);
  }
  return env;
}

function parse(argv: string[]) {
  return parseCommandLine({
    args: argv,
    allowPositionals: false,
    options: {
      quick: { type: "boolean" },
      json: { type: "boolean" },
      compare: { type: "boolean" },
      dir: { type: "string" },
      only: { type: "string" },
      rounds: { type: "string" },
      threads: { type: "string" },
      processes: { type: "string" },
      uploads: { type: "string" },
      bundle: { type: "string" },
      node: { type: "string" },
      "also-env": { type: "string", multiple: true },
      cache: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  }).values;
}

/** The image for cold start and end to end: the baseline JPEG nearest 12 MP (the targets' case). */
function referenceImage(images: readonly CorpusImage[]): CorpusImage | undefined {
  const candidates = images.filter((i) => i.cls === "jpeg");
  const pool = candidates.length > 0 ? candidates : images.filter((i) => i.cls.startsWith("png"));
  return [...pool].sort((a, b) => Math.abs(a.megapixels - 12) - Math.abs(b.megapixels - 12))[0];
}

if (require.main === module) {
  main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
