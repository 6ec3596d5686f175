/**
 * The settings table (handler/settings.ts) is the one source: readConfig reads only what it
 * declares, no source file reads a variable it does not declare, the docs hold the tables
 * generated from it, and a near-miss name gets a "did you mean".
 */
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { closest } from "../cli/did-you-mean";
import { SERVE_SETTINGS } from "../cli/serve/settings";
import { defaultText } from "../cli/setting-flags";
import { readConfig } from "../handler/config";
import { HANDLER_SETTINGS } from "../handler/settings";
import { SETTINGS as INFRA_SETTINGS, STACK_HANDLER_SETTINGS } from "../stacks/config";
import {
  handlerTable,
  serveTable,
  stackHandlerTable,
  thumbnailFlagsTable,
} from "./support/settings-docs";

const ROOT = path.join(__dirname, "..");

/** Variables that are no setting of this project: what the AWS SDK and libvips read themselves. */
const NOT_SETTINGS = [
  "AWS_ACCESS_KEY_ID",
  "AWS_SECRET_ACCESS_KEY",
  "AWS_SESSION_TOKEN",
  // The SDK's own switch that cli/node-policy.ts turns on for an end-of-life Node.
  "AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED",
];

const DECLARED = new Set([
  ...Object.values(HANDLER_SETTINGS).map((s) => s.env),
  ...Object.values(SERVE_SETTINGS).map((s) => s.env),
  ...Object.values(INFRA_SETTINGS).map((s) => s.env),
  ...STACK_HANDLER_SETTINGS.map((s) => s.env),
  ...NOT_SETTINGS,
]);

function sources(dir: string): string[] {
  return readdirSync(path.join(ROOT, dir), { recursive: true, encoding: "utf8" })
    .filter((file) => file.endsWith(".ts") && !file.endsWith(".d.ts"))
    .map((file) => path.join(dir, file));
}

describe("the settings table", () => {
  it("is all readConfig reads from the environment", () => {
    const read = new Set<string>();
    const env = new Proxy({ DEST_BUCKET: "thumbs" } as NodeJS.ProcessEnv, {
      get(target, name) {
        if (typeof name === "string") read.add(name);
        return target[name as string];
      },
    });

    readConfig(env);

    expect([...read].sort()).toEqual(
      Object.values(HANDLER_SETTINGS)
        .map((s) => s.env)
        .sort(),
    );
  });

  // The bench's own process plumbing (BENCH_*, UV_THREADPOOL_SIZE...) is not a setting.
  it.each([
    ...sources("handler"),
    ...sources("stacks"),
    ...sources("cli"),
    ...sources("ops"),
    "main.ts",
  ])("%s reads no environment variable the tables do not declare", (file) => {
    const text = readFileSync(path.join(ROOT, file), "utf8");
    const names = [
      ...text.matchAll(/\benv(?:\.([A-Z][A-Z0-9_]*)|\[\s*"([A-Z][A-Z0-9_]*)"\s*\])/g),
    ].map((match) => match[1] ?? match[2]);

    expect(names.filter((name) => name !== undefined && !DECLARED.has(name))).toEqual([]);
  });

  it.each([
    ["docs/handler.md", "the handler's variables", handlerTable],
    ["docs/local.md", "the thumbnail options of make and serve", thumbnailFlagsTable],
    ["docs/local.md", "serve's flags and variables", serveTable],
    ["docs/deploy.md", "the handler settings the stack passes on", stackHandlerTable],
  ])("%s holds the generated table of %s", (doc, _what, table) => {
    expect(readFileSync(path.join(ROOT, doc), "utf8")).toContain(table());
  });
});

describe("closest (did you mean)", () => {
  it.each([
    ["widht", ["width", "height", "fit"], "width"],
    ["concurency", ["concurrency", "port"], "concurrency"],
    ["MEMORY_SIZE", ["MEMORY_MB", "NAME", "REGION"], "MEMORY_MB"],
    ["Quality", ["quality", "format"], "quality"],
  ])("suggests the closest of the known names for %s", (name, known, guess) => {
    expect(closest(name, known)).toBe(guess);
  });

  it("suggests nothing when no name is close", () => {
    expect(closest("colour", ["out", "width", "format"])).toBeUndefined();
  });
});

describe("the local service's retry defaults", () => {
  // docs/local.md: a failed invocation "is retried twice after a short backoff", as Lambda's
  // asynchronous invocation does; --help and the docs table show the same list.
  it("retry a failed invocation twice, after 1 s and then 2 s, and show exactly that", () => {
    const { retryDelays } = SERVE_SETTINGS;

    const shown = defaultText(retryDelays, "serve");

    expect(retryDelays.default).toEqual([1000, 2000]);
    expect(shown).toBe("1000,2000");
    expect(retryDelays.parse(shown)).toEqual({ ok: true, value: retryDelays.default });
  });
});
