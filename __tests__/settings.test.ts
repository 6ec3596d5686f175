/**
 * The settings table (handler/settings.ts) is the one source: readConfig reads only what it
 * declares, no source file reads a variable it does not declare, the docs hold the tables
 * generated from it, and a near-miss name gets a "did you mean".
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { closest } from "../cli/did-you-mean";
import { HANDLER_SERVE_SETTINGS, SERVE_SETTINGS } from "../cli/serve/settings";
import { defaultText, oldNameNotes, readFlags } from "../cli/setting-flags";
import { HANDLER_SETTINGS as CLI_HANDLER_SETTINGS, variableOf } from "../cli/settings";
import { readConfig } from "../handler/config";
import { HANDLER_SETTINGS } from "../handler/settings";
import { regenerate, TABLES, updateDocs } from "../scripts/docs";
import {
  SETTINGS as INFRA_SETTINGS,
  knownVariables,
  ONE_RUN_SWITCHES,
  readInfraConfig,
  STACK_HANDLER_SETTINGS,
} from "../stacks/config";

const ROOT = path.join(__dirname, "..");

/** Variables that are no setting of this project: what the AWS SDK and libvips read themselves. */
const NOT_SETTINGS = [
  "AWS_ACCESS_KEY_ID",
  "AWS_SECRET_ACCESS_KEY",
  "AWS_SESSION_TOKEN",
  // The SDK's own switch that cli/node-policy.ts turns on for an end-of-life Node.
  "AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED",
  // The AWS CLI's and SDK's region fallback, which ops/ tools honour as they do.
  "AWS_DEFAULT_REGION",
  // ops/smoke-test.ts: the commit GitHub Actions sets (it names the smoke test's key), the folder
  // scripts/smoke-test.sh was run from, and its documented poll interval (--help).
  "GITHUB_SHA",
  "SMOKE_TEST_CALLER_DIR",
  "SMOKE_TEST_POLL_SECONDS",
];

const DECLARED = new Set([
  ...Object.values(HANDLER_SETTINGS).map((s) => s.env),
  ...Object.values(SERVE_SETTINGS).map((s) => s.env),
  ...Object.values(INFRA_SETTINGS).map((s) => s.env),
  ...STACK_HANDLER_SETTINGS.map((s) => s.env),
  ...ONE_RUN_SWITCHES,
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

  it("is what docs/ shows: every generated table is placed and current (npm run docs)", () => {
    expect(updateDocs(ROOT)).toEqual([]);
  });
});

describe("one name per setting for users", () => {
  it("is the deployment's: serve's --source-prefix reads notificationPrefix's variable", () => {
    expect(variableOf(CLI_HANDLER_SETTINGS.sourcePrefix)).toBe(
      INFRA_SETTINGS.notificationPrefix.env,
    );
    for (const row of STACK_HANDLER_SETTINGS) {
      expect(variableOf(CLI_HANDLER_SETTINGS[row.key as keyof typeof CLI_HANDLER_SETTINGS])).toBe(
        row.env,
      );
    }
  });

  it("notes each old name of a setting that is set, but not the AWS SDK's own AWS_REGION", () => {
    const notes = oldNameNotes(HANDLER_SERVE_SETTINGS, {
      LOG_LEVEL: "debug",
      DEST_PREFIX: " ",
      AWS_REGION: "eu-west-1",
      THUMBNAILER_CONCURRENCY: "2",
    });

    expect(notes).toEqual([
      "DEST_PREFIX is not read (the deployed function's own name); set THUMBNAILER_DEST_PREFIX",
      "LOG_LEVEL is not read (the deployed function's own name); set THUMBNAILER_LOG_LEVEL",
    ]);
  });

  // A THUMBNAILER_* name a script, the bench or CI reads, unknown to the list, would be refused.
  it.each(["scripts", "bench", ".github", path.join("__tests__", "support"), "ops", "cli"])(
    "knows every THUMBNAILER_* variable %s/ names",
    (dir) => {
      const files = readdirSync(path.join(ROOT, dir), { recursive: true, encoding: "utf8" })
        .map((file) => path.join(ROOT, dir, file))
        .filter((file) => statSync(file).isFile());
      const named = files.flatMap((file) =>
        [...readFileSync(file, "utf8").matchAll(/\bTHUMBNAILER_[A-Z][A-Z0-9_]*\b/g)].map(
          (match) => match[0],
        ),
      );

      expect(named.filter((name) => !knownVariables().includes(name))).toEqual([]);
    },
  );
});

describe("the generated docs tables (scripts/docs.ts)", () => {
  const doc = (table: string) =>
    [
      "# Settings",
      "",
      "<!-- generated by npm run docs: stack-handler-settings -->",
      table,
      "<!-- end of generated table -->",
      "",
      "Text after the table.",
    ].join("\n");

  it("rewrites only what is between the markers", () => {
    const fresh = doc(TABLES["stack-handler-settings"]?.() ?? "");

    const result = regenerate(doc("| an old | table |\n| --- | --- |"));

    expect(result).toEqual({ text: fresh, names: ["stack-handler-settings"] });
    expect(regenerate(fresh).text).toBe(fresh);
  });

  it("refuses a table it does not know, or one without its end marker", () => {
    expect(() => regenerate("<!-- generated by npm run docs: colours -->\n", "x.md")).toThrow(
      'x.md:1: no generated table "colours"',
    );
    expect(() =>
      regenerate("<!-- generated by npm run docs: infra-settings -->\n| a |\n", "x.md"),
    ).toThrow('x.md:1: "infra-settings" has no "<!-- end of generated table -->" line');
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

describe("a key prefix's spaces (S3 keys may begin or end with them)", () => {
  // DEST_PREFIX and SOURCE_PREFIX are kept as given on every path: a trimmed prefix writes
  // thumbnails to other keys than the ones the user asked for.
  it.each([
    [" thumbs/ ", " uploads/ "],
    ["  ", " "],
  ])("DEST_PREFIX %j and SOURCE_PREFIX %j reach the handler whole", (dest, source) => {
    const config = readConfig({ DEST_BUCKET: "thumbs", DEST_PREFIX: dest, SOURCE_PREFIX: source });

    expect([config.destPrefix, config.sourcePrefix]).toEqual([dest, source]);
  });

  it.each([
    [" thumbs/ ", " uploads/ "],
    ["  ", " "],
  ])("the stack passes DEST_PREFIX %j and SOURCE_PREFIX %j on whole", (dest, source) => {
    const fromEnv = readInfraConfig({
      context: () => undefined,
      env: { THUMBNAILER_DEST_PREFIX: dest, THUMBNAILER_NOTIFICATION_PREFIX: source },
    });
    const fromContext = readInfraConfig({
      context: (key) => ({ destPrefix: dest, notificationPrefix: source })[key],
      env: {},
    });

    for (const config of [fromEnv, fromContext]) {
      expect(config.handlerEnvironment.DEST_PREFIX).toBe(dest);
      expect(config.notificationPrefix).toBe(source);
      expect(config.destinationPrefixes).toEqual([dest]);
    }
  });

  it.each([
    [" thumbs/ ", " uploads/ "],
    ["  ", " "],
  ])("serve's and backfill's flags and variables keep %j and %j whole", (dest, source) => {
    const fromFlags = readFlags(HANDLER_SERVE_SETTINGS, {
      "dest-prefix": dest,
      "source-prefix": source,
    });
    const fromEnv = readFlags(
      HANDLER_SERVE_SETTINGS,
      {},
      { THUMBNAILER_DEST_PREFIX: dest, THUMBNAILER_NOTIFICATION_PREFIX: source },
    );

    for (const values of [fromFlags, fromEnv]) {
      expect([values.destPrefix, values.sourcePrefix]).toEqual([dest, source]);
    }
  });
});

describe("serve's data folder", () => {
  it.each([" my data ", "data"])("keeps %j as given", (data) => {
    expect(readFlags(SERVE_SETTINGS, { data }).data).toBe(data);
  });

  it("refuses a name of only spaces instead of making a folder named by them", () => {
    expect(() => readFlags(SERVE_SETTINGS, {}, { THUMBNAILER_DATA: "   " })).toThrow(
      'THUMBNAILER_DATA="   " is invalid: expected a folder (not only spaces)',
    );
  });
});
