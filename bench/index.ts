/**
 * `npm run bench` (node dist/bench/index.js): the benchmark's command line, developer tooling and
 * no `thumbnailer` command. Builds or reads the corpus, runs the parts, prints a table or --json.
 */
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { DockerfileParser } from "dockerfile-ast";
import { parseCommandLine } from "../cli/setting-flags";
import { integer, ok } from "../handler/parse";
import { pillowRunner, vipsRunner } from "./compare";
import { type CorpusImage, folderCorpus, generatedCorpus } from "./corpus";
import { benchEngines, nodeRunner } from "./engine";
import * as figures from "./report";
import { errorText, log, ROOT } from "./stats";

export const HELP = `Usage: npm run bench -- [options]     (or: node dist/bench/index.js [options])

Measures the engine (per format class; 3 renditions against 1), the cold start and the local
pipeline end to end (docs/performance.md), and prints a table or JSON with the targets met or
missed (never enforced: the exit code is 0 unless the benchmark itself failed).

Options:
  --quick            a short run (smaller corpus, fewer rounds): under a minute once cached
  --json             print the results as JSON on stdout (progress still goes to stderr)
  --compare          also run Pillow (python3 + PIL), vipsthumbnail and the plain sharp pipeline
  --dir DIR          the images in DIR (recursively) instead of the generated corpus
  --only LIST        comma-separated parts to run: engine,cold-start,end-to-end (default: all)
  --rounds N         engine passes over the corpus; best of N per image (default 3, quick 1)
  --threads N        libvips threads and UV_THREADPOOL_SIZE (default 1, like Pillow; 0: defaults)
  --processes N      fresh processes for the cold start (default 5, quick 3)
  --uploads N        uploads for the end-to-end burst (default 20, quick 6)
  --also-env K=V     also run the engine with K=V (repeatable; K= unsets), e.g. MALLOC_ARENA_MAX=
  --bundle FILE      the handler bundle for the cold start (default: bundled as the image does)
  --node PATH        the Node binary for the cold start (default: this one); >= 22.1: compile cache

  --cache DIR        where the generated corpus is kept (default .bench-cache)
  -h, --help         this help`;

const PARTS = ["engine", "cold-start", "end-to-end"];

export type BenchOptions = ReturnType<typeof readOptions>;
type Partial = Omit<figures.BenchReport, "targets">;

export async function main(argv: string[]): Promise<number> {
  let options: BenchOptions;
  try {
    options = readOptions(argv);
  } catch (error) {
    process.stderr.write(`${errorText(error)}\n\n${HELP}\n`);
    return 2;
  }
  if (options.help) {
    process.stdout.write(`${HELP}\n`);
    return 0;
  }
  log(options.dir ? `reading images in ${options.dir}` : "preparing the generated corpus");
  const corpus = options.dir ? await folderCorpus(options.dir) : await generatedCorpus(options);
  const report: Partial = {
    environment: figures.environment(options.threads, options.quick),
    corpus: figures.corpusSummary(corpus),
    notes: [...corpus.notes],
  };
  if (options.only.includes("engine")) await benchEngine(options, corpus.images, report);
  if (options.only.includes("engine") && corpus.images.some((image) => image.cls === "heic")) {
    log("HEIC: default thumbnail from the thumbnail item against from the primary");
    report.heicItems = await (await import("./heic-items")).compareHeicItems(corpus.images);
    report.notes.push(...report.heicItems.errors);
  }
  // The parts below are loaded only now: they load the engine, which blocks libvips' SVG loader
  // for the whole process, and the corpus generator draws with SVG.
  await benchPipeline(options, corpus.images, report);
  const full = { ...report, targets: figures.targets(report) };
  const text = options.json ? JSON.stringify(full, null, 2) : figures.formatReport(full);
  process.stdout.write(`${text}\n`);
  return 0;
}

function readOptions(argv: string[]) {
  const { values } = parseCommandLine({
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
  });
  const quick = values.quick ?? false;
  const only = (values.only ?? PARTS.join(",")).split(",").map((part) => part.trim());
  const unknown = only.filter((part) => !PARTS.includes(part));
  if (unknown.length > 0) {
    throw new Error(`--only: unknown part ${unknown.join(", ")}; accepted: ${PARTS.join(", ")}`);
  }
  const count = (name: "rounds" | "threads" | "processes" | "uploads", fallback: number) => {
    const parse = integer(name === "threads" ? 0 : 1);
    const parsed = values[name] === undefined ? ok(fallback) : parse(values[name]);
    if (!parsed.ok) throw new Error(`--${name} must be ${parse.accepted}`);
    return parsed.value;
  };
  const alsoEnv = (values["also-env"] ?? []).map((pair) => {
    if (pair.indexOf("=") < 1) throw new Error(`--also-env ${pair}: expected NAME=VALUE`);
    return [pair.slice(0, pair.indexOf("=")), pair.slice(pair.indexOf("=") + 1)] as const;
  });
  return {
    ...values,
    quick,
    only,
    rounds: count("rounds", quick ? 1 : 3),
    threads: count("threads", 1),
    processes: count("processes", quick ? 3 : 5),
    uploads: count("uploads", quick ? 6 : 20),
    alsoEnv: Object.fromEntries(alsoEnv),

    cacheDir: resolve(values.cache ?? ".bench-cache"),
  };
}

async function benchEngine(options: BenchOptions, images: CorpusImage[], report: Partial) {
  log("engine benchmark");
  // The engine runs with what the image's Dockerfile ENV sets (what ships); plain sharp without.
  const shipped = runtimeEnv();
  const settings = Object.entries(shipped).map(([k, v]) => `${k}=${v}`);
  report.notes.push(
    `engine environment from the Dockerfile's runtime stage: ${settings.join(" ")}`,
  );
  const { threads, alsoEnv, compare } = options;
  const runners = [
    nodeRunner("engine", threads, shipped),
    nodeRunner(figures.THREE, threads, shipped),
    ...(Object.keys(alsoEnv).length > 0 ? [nodeRunner("engine", threads, shipped, alsoEnv)] : []),
    ...(compare ? [nodeRunner("sharp-plain", threads), pillowRunner(), vipsRunner(threads)] : []),
  ];
  report.engine = await benchEngines(images, runners, options.rounds);
  report.notes.push(...report.engine.notes);
  report.renditions = figures.renditionCosts(report.engine);
  if (compare) report.ratios = figures.ratios(report.engine);
}

/** Cold start and end to end, on the baseline JPEG nearest 12 MP (the targets' case). */
async function benchPipeline(options: BenchOptions, images: CorpusImage[], report: Partial) {
  const jpegs = images.filter((i) => i.cls === "jpeg");
  const pool = jpegs.length > 0 ? jpegs : images.filter((i) => i.cls.startsWith("png"));
  const distance = (image: CorpusImage) => Math.abs(image.megapixels - 12);
  const image = [...pool].sort((a, b) => distance(a) - distance(b))[0];
  for (const part of ["cold-start", "end-to-end"].filter((p) => options.only.includes(p))) {
    if (!image) {
      report.notes.push(`${part.replace("-", " ")} skipped: the corpus has no JPEG or PNG`);
    } else if (part === "cold-start") {
      log("cold-start benchmark");
      const { benchColdStart } = await import("./cold-start");
      report.coldStart = await benchColdStart(options, image);
    } else {
      log("end-to-end benchmark");
      const { benchEndToEnd } = await import("./end-to-end");
      report.endToEnd = await benchEndToEnd(options, image);
    }
  }
}

/** The ENV of the Dockerfile's runtime stage, read rather than copied. */
function runtimeEnv(): Record<string, string> {
  const parsed = DockerfileParser.parse(readFileSync(join(ROOT, "Dockerfile"), "utf8"));
  const runtimeFrom = parsed.getFROMs().at(-1)?.getRange().start.line ?? 0;
  const runtime = parsed.getENVs().filter((env) => env.getRange().start.line >= runtimeFrom);
  const pairs = runtime.flatMap((env) => env.getProperties());
  const computed = pairs.find((p) => p.getValue()?.includes("$"));
  if (computed) throw new Error(`Dockerfile: ENV ${computed.getName()}: literals only`);

  return Object.fromEntries(pairs.map((p) => [p.getName(), p.getValue() ?? ""]));
}

if (require.main === module) {
  main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
