/**
 * The README and docs/ against the real command (integration): the banner sample, the log-line
 * examples and the backfill progress sample are compared with what `thumbnailer serve` and
 * `thumbnailer backfill --direct` really print, and every `thumbnailer` command line shown is one
 * that runs this project's own command, never a registry package of the same name.
 */

import { type ChildProcess, execFile, spawn } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { PassThrough } from "node:stream";
import { promisify } from "node:util";
import type { S3Client } from "@aws-sdk/client-s3";
import { createProgress } from "../cli/backfill/progress";
import { LOCAL_CREDENTIALS } from "../cli/serve/credentials";
import { buildDist, CLI, PROJECT_DIR } from "./support/build-dist";
import { localClient, put, waitFor } from "./support/local-s3";
import { runCli } from "./support/run-cli";

const read = (file: string) => readFileSync(path.join(PROJECT_DIR, file), "utf8");
const DOCS = [
  "README.md",
  ...readdirSync(path.join(PROJECT_DIR, "docs"))
    .filter((f) => f.endsWith(".md"))
    .map((f) => `docs/${f}`),
];

/** The fenced block of `language` that follows `marker` in `text`. */
function blockAfter(text: string, marker: string, language: string): string {
  const at = text.indexOf(marker);
  expect(at).toBeGreaterThanOrEqual(0);
  const match = new RegExp(`\`\`\`${language}\\n([\\s\\S]*?)\`\`\``).exec(text.slice(at));
  if (!match?.[1]) throw new Error(`no ${language} block after "${marker}"`);
  return match[1];
}

/** Key names and value types, recursively: what a log line's reader depends on. */
function shape(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(shape);
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(
      Object.entries(value)
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([k, v]) => [k, shape(v)]),
    );
  }
  return value === null ? "null" : typeof value;
}

const jsonLines = (text: string) =>
  text
    .split("\n")
    .filter((line) => line.startsWith("{"))
    .map((line) => JSON.parse(line) as Record<string, unknown>);

describe("docs against the real `thumbnailer serve` and `backfill --direct` (integration)", () => {
  let dataDir: string;
  let child: ChildProcess;
  let stdout = "";
  let endpoint: string;
  let s3: S3Client;

  beforeAll(async () => {
    buildDist();
    dataDir = await mkdtemp(path.join(tmpdir(), "thumbnailer-docs-"));
    child = spawn(
      process.execPath,
      [CLI, "serve", "--port", "0", "--ui-port", "0", "--data", dataDir],
      {
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    child.stdout?.on("data", (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    await waitFor(
      "the banner",
      async () => (stdout.includes("Ctrl+C stops.") ? true : undefined),
      60_000,
    );
    endpoint = /endpoint\s+(http:\/\/127\.0\.0\.1:\d+)/.exec(stdout)?.[1] ?? "";
    s3 = localClient(endpoint);
  }, 120_000);

  afterAll(async () => {
    s3?.destroy();
    child?.kill("SIGTERM");
    await new Promise((resolve) => child?.once("exit", resolve));
    await rm(dataDir, { recursive: true, force: true });
  });

  it("docs/local.md's banner sample is the banner, ports and data folder as the defaults", () => {
    const banner = stdout.slice(0, stdout.indexOf("Ctrl+C stops.") + "Ctrl+C stops.".length);
    const endpointPort = new URL(endpoint).port;
    const uiPort = /gallery\s+http:\/\/127\.0\.0\.1:(\d+)/.exec(banner)?.[1] ?? "";
    const masked = banner
      .replace(/^ {2}note .*\n\n/m, "") // Node 20 only; the text before the sample says so
      .replaceAll(`127.0.0.1:${endpointPort}`, "127.0.0.1:4568")
      .replaceAll(`127.0.0.1:${uiPort}`, "127.0.0.1:4569")
      .replaceAll(dataDir, "/path/to/repo/.data");
    const sample = blockAfter(read("docs/local.md"), "prints a banner", "text");
    expect(masked.trim()).toBe(sample.trim());
  });

  describe("log lines", () => {
    let created: Record<string, unknown>;

    beforeAll(async () => {
      const photo = readFileSync(path.join(PROJECT_DIR, "scripts/fixtures/smoke-test.jpg"));
      await put(s3, "source", "photos/beach.jpg", photo);
      await put(s3, "source", "notes.jpg", Buffer.from("not an image"));
      const line = (key: string) =>
        waitFor(
          `the log line of ${key}`,
          async () => jsonLines(stdout).find((l) => l.key === key && l.outcome !== undefined),
          30_000,
        );
      created = await line("photos/beach.jpg");
      await line("notes.jpg"); // so that backfill reports a failure too
    }, 60_000);

    it("README's example is the line the service logs for that upload", () => {
      const fragment = /and the service logs one JSON line for it\n\(`(\{.*),\.\.\.\}`\)/.exec(
        read("README.md"),
      )?.[1];
      const example = JSON.parse(`${fragment}}`) as Record<string, unknown>;
      expect(created).toMatchObject(example);
      // In the order the service writes them.
      const order = Object.keys(created).filter((k) => k in example);
      expect(order).toEqual(Object.keys(example));
    });

    it("docs/handler.md's example has the fields, nesting and types of a real line", () => {
      const example = JSON.parse(blockAfter(read("docs/handler.md"), "## Logs", "json"));
      expect(shape(example)).toEqual(shape(created));
    });

    it("docs/local.md's backfill sample and --json fields are what backfill prints", async () => {
      const run = await runCli(
        [
          "backfill",
          "--direct",
          "--force",
          "--json",
          "--endpoint",
          endpoint,
          "--source-bucket",
          "source",
          "--dest-bucket",
          "thumbnails",
        ],
        {
          cwd: dataDir,
          env: {
            ...process.env,
            AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
            AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
            AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
          },
        },
      );
      const guide = read("docs/local.md");
      const sample = blockAfter(guide, "## `thumbnailer backfill --direct`", "console")
        .split("\n")
        .filter((l) => l.startsWith("backfill"));
      const numbers = (line: string) => line.replace(/\d+(\.\d+)?/g, "N");
      // Off a terminal the bar is left out; the rest of the line is the same.
      const real = run.stderr.split("\n").filter((l) => l.startsWith("backfill"));
      expect(real.map(numbers)).toEqual(sample.map((l) => numbers(l.replace(/\[.*\] /, ""))));

      const fields = /the handler's log fields \(([^)]*)\)/.exec(guide.replace(/\s+/g, " "))?.[1];
      const named = [...(fields ?? "").matchAll(/`(\w+)`/g)].map((m) => m[1]);
      const written = new Set(jsonLines(run.stdout).flatMap((l) => Object.keys(l)));
      expect(named.length).toBeGreaterThan(3);
      expect(named.filter((name) => !written.has(name ?? ""))).toEqual([]);
    }, 60_000);
  });
});

describe("docs/local.md's `thumbnailer make` lines", () => {
  it("have the fields, nesting and types of the lines make writes, made and failed", async () => {
    const dir = await mkdtemp(path.join(tmpdir(), "thumbnailer-docs-make-"));
    try {
      await writeFile(path.join(dir, "notes.jpg"), "not an image");
      const photo = path.join(PROJECT_DIR, "scripts/fixtures/smoke-test.jpg");
      const run = await runCli(["make", "--out", path.join(dir, "thumbs"), photo, dir]);
      const real = jsonLines(run.stdout);
      const example = jsonLines(
        blockAfter(read("docs/local.md"), "one JSON line per input", "json").replace(/^ +/gm, ""),
      );
      expect(example.map((l) => l.outcome)).toEqual(["ok", "failed"]);
      for (const line of example) {
        const same = real.find((l) => l.outcome === line.outcome);
        expect(shape(line)).toEqual(shape(same));
        expect(Object.keys(line)).toEqual(Object.keys(same ?? {}));
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe("docs/local.md's progress bar (a terminal)", () => {
  it("is drawn with the characters and layout the real bar uses", () => {
    const stream = Object.assign(new PassThrough(), { isTTY: true, columns: 200 });
    let drawn = "";
    stream.on("data", (chunk: Buffer) => {
      drawn += chunk.toString();
    });
    const progress = createProgress("backfill", stream as unknown as NodeJS.WriteStream);
    // As direct mode calls it for a bucket of one object: after the object, and once more at the end.
    const counts = { done: 1, total: 1, counters: { made: 1, skipped: 0, failed: 0 } };
    progress.update(counts);
    progress.update(counts);
    progress.stop();
    // biome-ignore lint/suspicious/noControlCharactersInRegex: terminal escape sequences
    const lines = drawn.replace(/\u001b\[[0-9;?]*[A-Za-z]/g, "\n").split(/[\r\n]+/);
    const last = lines.filter((l) => l.startsWith("backfill [")).at(-1) ?? "";
    const sample = blockAfter(
      read("docs/local.md"),
      "## `thumbnailer backfill --direct`",
      "console",
    )
      .split("\n")
      .find((l) => l.startsWith("backfill ["));
    const numbers = (line: string) => line.replace(/\d+(\.\d+)?/g, "N");
    expect(numbers(last.trimEnd())).toBe(numbers(sample ?? ""));
  });
});

describe("how the docs run the `thumbnailer` command", () => {
  /** Fenced shell blocks: each line after a `$ ` prompt, or every line of a sh block. */
  function commandLines(text: string): string[][] {
    return [...text.matchAll(/```(sh|console|bash)\n([\s\S]*?)```/g)].map(([, lang, body]) =>
      (body ?? "")
        .split("\n")
        .filter((l) => lang !== "console" || l.startsWith("$ "))
        .map((l) => l.replace(/^\$ /, "").replace(/#.*$/, "").trim()),
    );
  }

  it.each(DOCS)("%s: npx runs thumbnailer only inside the clone, and says so first", (file) => {
    const text = read(file);
    for (const lines of commandLines(text)) {
      const npx = lines.findIndex((l) => /\bnpx\b[^|;&]*\bthumbnailer\b/.test(l));
      if (npx < 0) continue;
      // Never a flag or a version that lets npx fetch a package named thumbnailer.
      expect(lines.filter((l) => /npx\s+(-\S+\s+)*thumbnailer@|npx\s+-/.test(l))).toEqual([]);
      // No block leaves the clone before it runs npx thumbnailer.
      expect(lines.slice(0, npx).filter((l) => /(^|[;&|]\s*)cd\s/.test(l))).toEqual([]);
    }
    const first = text.search(/npx thumbnailer (make|serve|backfill|--help)/);
    if (first >= 0) {
      const link =
        file === "README.md" ? "(#running-thumbnailer)" : "README.md#running-thumbnailer";
      expect(text.indexOf(link)).toBeGreaterThanOrEqual(0);
      expect(text.indexOf(link)).toBeLessThan(first);
    }
  });

  it("README says how to run it from anywhere: npm link, or the bin path", () => {
    const section = read("README.md")
      .split(/^### Running `thumbnailer`$/m)[1]
      ?.split(/^##/m)[0];
    expect(section).toMatch(/npm link/);
    expect(section).toMatch(/node \S*bin\/thumbnailer\.js/);
  });

  it("npx thumbnailer in a folder of the clone runs the project's own command, offline", async () => {
    const { stdout } = await promisify(execFile)(
      "npx",
      ["--offline", "--no-install", "thumbnailer", "--help"],
      { cwd: path.join(PROJECT_DIR, "docs"), timeout: 60_000 },
    );
    expect(stdout).toMatch(/^Usage: thumbnailer <command>/);
  }, 70_000);

  it("the command linked the way npm link links it runs from any folder", async () => {
    const prefix = await mkdtemp(path.join(tmpdir(), "thumbnailer-link-"));
    try {
      await mkdir(path.join(prefix, "lib", "node_modules"), { recursive: true });
      await mkdir(path.join(prefix, "bin"));
      await symlink(PROJECT_DIR, path.join(prefix, "lib", "node_modules", "thumbnailer"));
      const bin = path.join(prefix, "bin", "thumbnailer");
      await symlink("../lib/node_modules/thumbnailer/bin/thumbnailer.js", bin);
      const { stdout } = await promisify(execFile)(bin, ["make", "--help"], {
        cwd: prefix,
        env: { ...process.env, PATH: `${path.dirname(process.execPath)}:${process.env.PATH}` },
      });
      expect(stdout).toMatch(/^Usage: thumbnailer make/);
    } finally {
      await rm(prefix, { recursive: true, force: true });
    }
  });
});
