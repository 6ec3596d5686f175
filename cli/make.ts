import { readFile, stat } from "node:fs/promises";
import { availableParallelism } from "node:os";
import path from "node:path";
import { forEachLimited } from "../handler/bounded";
import { engineSettings, readRenditions } from "../handler/config";
import {
  configureSharp,
  type Limits,
  makeRenditions,
  type OutputFormat,
  type Rendition,
} from "../handler/engine";
import { describeError, ThumbnailError, tooLarge } from "../handler/errors";
import { removeTemporaryFiles, writeFileAtomic } from "./atomic-write";
import {
  commandStep,
  fileValue,
  flagHelp,
  flagOptions,
  flagText,
  givenSources,
  parseCommandLine,
  readFlags,
  refuseUnknownVariables,
  UsageError,
} from "./setting-flags";
import { SERVICE_SETTINGS, THUMB_ROWS, THUMBNAIL_SETTINGS } from "./settings";
import { walkFiles } from "./walk-files";

/** The handler's CONCURRENCY row, as `make`'s flag: its bounds, with a default for this machine. */
const CONCURRENCY = {
  concurrency: {
    ...SERVICE_SETTINGS.concurrency,
    default: Math.min(4, availableParallelism()),
    doc: "images processed at once",
  },
};

const HELP = `Usage: thumbnailer make --out DIR [options] INPUT...

Makes a thumbnail of every INPUT: an image file, or a folder whose files are all taken
(recursively; hidden files and symbolic links skipped).

Output names mirror the inputs under DIR, with the output format's extension:
  thumbnailer make --out thumbs a.png photos/
    a.png                -> thumbs/a.jpg
    photos/2024/b.HEIC   -> thumbs/photos/2024/b.jpg
With --renditions, each input is decoded once and every rendition is written under its prefix
(default "<name>/"): thumbs/small/photos/2024/b.jpg, thumbs/square/photos/2024/b.webp, ...
Each output is written to a temporary file and renamed into place, so DIR never holds a
half-written file. Two inputs that map to the same output (a.png and a.jpg) are an error for
the second one (DUPLICATE_OUTPUT).

Prints one JSON line per input and rendition on stdout:
  {"input","rendition","output","outcome":"ok"|"failed","width","height","code","reason","ms"}
(output, width, height are null when failed; code, reason are null when ok) and a summary
on stderr. Exit status: 0 all made, 1 any failed, 2 usage error.

Options:
  -o, --out DIR           where thumbnails are written (required)
${flagHelp(CONCURRENCY)}
  -h, --help              show this help

Thumbnail options (variable and default in brackets; a flag wins over its variable). The
variables are the names a deployment takes too, so its exported settings apply here; a
THUMBNAILER_* or THUMB_* variable that is no setting is refused:
${flagHelp(THUMBNAIL_SETTINGS, { variables: true })}
`;

const EXTENSIONS: Record<OutputFormat, string> = {
  jpeg: ".jpg",
  webp: ".webp",
  avif: ".avif",
  png: ".png",
  gif: ".gif",
};

interface Job {
  readonly input: string;
  /** Its path relative to the input root, without the extension: where outputs go under DIR. */
  readonly output: string | undefined;
  /** Undefined when the input cannot be read (the job reports why). */
  readonly problem?: { code: string; reason: string };
}

interface Settings {
  readonly renditions: readonly Rendition[];
  readonly limits: Limits;
}

/** One stdout line of `thumbnailer make`, per input and rendition. */
export interface Line {
  input: string;
  rendition: string;
  output: string | null;
  outcome: "ok" | "failed";
  width: number | null;
  height: number | null;
  code: string | null;
  reason: string | null;
  ms: number;
}

export async function run(args: string[]): Promise<number> {
  const parsed = await commandStep("make", () =>
    parseCommandLine({
      args,
      allowPositionals: true,
      options: {
        out: { type: "string", short: "o" },
        help: { type: "boolean", short: "h" },
        ...flagOptions(CONCURRENCY, THUMBNAIL_SETTINGS),
      },
    }),
  );
  if (!parsed.ok) return parsed.exitCode;
  const { values, positionals: inputs } = parsed.value;
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  const read = await commandStep(
    "make",
    async () => {
      refuseUnknownVariables(process.env);
      // Not from THUMBNAILER_CONCURRENCY: that is the function's records at once, not files.
      const { concurrency } = readFlags(CONCURRENCY, values);
      const { env } = process;
      const { options, limits } = engineSettings(readFlags(THUMBNAIL_SETTINGS, values, env));
      const list = await fileValue(
        THUMBNAIL_SETTINGS.renditions,
        flagText(THUMBNAIL_SETTINGS.renditions, values, env),
      );
      const thumbSet = givenSources(THUMB_ROWS, values, env);
      const renditions = readRenditions(list.text, list.source, options, thumbSet);
      const { out } = values;
      if (out === undefined || out === "") throw new UsageError("--out DIR is required");
      if (inputs.length === 0) throw new UsageError("give at least one INPUT file or folder");
      return { out, concurrency, settings: { renditions, limits } satisfies Settings };
    },
    THUMBNAIL_SETTINGS,
  );
  if (!read.ok) return read.exitCode;
  const { out, concurrency, settings } = read.value;
  configureSharp();
  // Ctrl+C: leave no temporary file behind (finished thumbnails stay; rerunning redoes the rest).
  process.once("SIGINT", () => {
    removeTemporaryFiles();
    process.exit(130);
  });
  const started = performance.now();
  const counts = { ok: 0, failed: 0 };
  const failedCodes = new Map<string, number>();
  const outputs = new Set<string>();
  await forEachLimited(jobs(inputs, out), concurrency, async (job) => {
    for (const line of await makeOne(job, settings, out, outputs)) {
      process.stdout.write(`${JSON.stringify(line)}\n`);
      counts[line.outcome] += 1;
      if (line.code !== null) failedCodes.set(line.code, (failedCodes.get(line.code) ?? 0) + 1);
    }
  });

  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  const codes = [...failedCodes].map(([code, n]) => `${code} ${n}`).join(", ");
  process.stderr.write(
    `thumbnailer make: ${counts.ok} made, ${counts.failed} failed${codes ? ` (${codes})` : ""} ` +
      `in ${seconds}s -> ${out}\n`,
  );
  return counts.failed > 0 ? 1 : 0;
}

/** Every input file with its output path, lazily (a folder is walked as thumbnails get made). */
async function* jobs(inputs: readonly string[], out: string): AsyncGenerator<Job> {
  const outDir = path.resolve(out);
  const outputFor = (relative: string): string => {
    const parsed = path.parse(relative);
    return path.join(parsed.dir, parsed.name);
  };
  for (const input of inputs) {
    const stats = await stat(input).catch(() => undefined);
    if (stats?.isDirectory()) {
      const base = path.basename(path.resolve(input));
      for await (const file of walkFiles(input)) {
        // Never feed our own outputs back in when DIR is inside a folder INPUT.
        if (path.resolve(file).startsWith(outDir + path.sep)) continue;
        yield { input: file, output: outputFor(path.join(base, path.relative(input, file))) };
      }
    } else if (stats?.isFile()) {
      yield { input, output: outputFor(path.basename(input)) };
    } else {
      const reason = stats ? "not a regular file or folder" : "no such file or folder";
      yield { input, output: undefined, problem: { code: "INPUT_NOT_FOUND", reason } };
    }
  }
}

/** Reads and decodes one input once, writes every rendition; one line per rendition. */
async function makeOne(
  job: Job,
  settings: Settings,
  out: string,
  outputs: Set<string>,
): Promise<Line[]> {
  const started = performance.now();
  const line = (rendition: Rendition, fields: Partial<Line>): Line => ({
    input: job.input,
    rendition: rendition.name,
    output: null,
    outcome: "failed",
    width: null,
    height: null,
    code: null,
    reason: null,
    ...fields,
    ms: Math.round(performance.now() - started),
  });
  const failed = (code: string, reason: string): Line[] =>
    settings.renditions.map((rendition) => line(rendition, { code, reason }));
  if (job.problem || job.output === undefined) {
    return failed(job.problem?.code ?? "INPUT_NOT_FOUND", job.problem?.reason ?? "");
  }
  const base = job.output;
  const outputOf = (rendition: Rendition) =>
    path.join(out, rendition.prefix, base + EXTENSIONS[rendition.format]);

  let bytes: Buffer;
  try {
    // Refuse a huge file before reading it into memory (the engine checks the bytes it gets).
    const { size } = await stat(job.input);
    if (size > settings.limits.maxInputBytes) {
      throw tooLarge(size, settings.limits.maxInputBytes, "--max-input-bytes");
    }
    bytes = await readFile(job.input);
  } catch (error) {
    if (error instanceof ThumbnailError) return failed(error.code, error.message);
    return failed("READ_ERROR", errnoMessage(error));
  }
  let made: Awaited<ReturnType<typeof makeRenditions>>;
  try {
    made = await makeRenditions(bytes, settings.renditions, settings.limits);
  } catch (error) {
    const { code, reason } = describeError(error);
    return failed(code, reason);
  }
  // Renditions this input cannot give (the others are made), each with its own reason.
  const lines: Line[] = made.failures.map(({ rendition, error }) =>
    line(rendition, { code: error.code, reason: error.message }),
  );
  for (const { rendition, data, width, height } of made.outputs) {
    const output = outputOf(rendition);
    const resolved = path.resolve(output);
    if (outputs.has(resolved)) {
      const reason = `another input in this run was already written to ${output}`;
      lines.push(line(rendition, { code: "DUPLICATE_OUTPUT", reason }));
      continue;
    }
    outputs.add(resolved);
    try {
      await writeFileAtomic(output, data);
    } catch (error) {
      lines.push(line(rendition, { code: "WRITE_ERROR", reason: errnoMessage(error) }));
      continue;
    }
    lines.push(line(rendition, { output, outcome: "ok", width, height }));
  }
  const order = (l: Line) => settings.renditions.findIndex((r) => r.name === l.rendition);
  return lines.sort((a, b) => order(a) - order(b));
}

function errnoMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
