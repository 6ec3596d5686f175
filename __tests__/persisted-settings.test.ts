/** stacks/persisted-settings.ts: the deployment's settings in cdktf.json, and env overrides. */

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SETTINGS, STACK_HANDLER_SETTINGS } from "../stacks/config";
import { overrides, persistSettings, settingsFromEnv } from "../stacks/persisted-settings";

describe("persisted settings", () => {
  let dir: string;
  let file: string;
  const original = {
    language: "typescript",
    app: "node dist/main.js",
    context: { name: "thumbs" },
  };
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "thumbnailer-settings-"));
    file = join(dir, "cdktf.json");
    writeFileSync(file, JSON.stringify(original));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("takes every setting of the configuration table from its THUMBNAILER_* variable, and nothing else", () => {
    // Arrange: every setting's variable, plus the local service's own THUMBNAILER_PORT
    const rows = [...Object.values(SETTINGS), ...STACK_HANDLER_SETTINGS];
    const env = Object.fromEntries(rows.map((row) => [row.env, `v-${row.key}`]));

    // Act
    const found = settingsFromEnv({ ...env, THUMBNAILER_PORT: "9000", THUMBNAILER_NAME: "" });

    // Assert: an empty variable counts as unset, as in stacks/config.ts
    const expected = Object.fromEntries(rows.map((row) => [row.key, `v-${row.key}`]));
    delete expected.name;
    expect(found).toEqual(expected);
  });

  it("never persists nor reports as an override the deploy's one-run switch THUMBNAILER_ALLOW_ROLLBACK", () => {
    const env = { THUMBNAILER_ALLOW_ROLLBACK: "1" };

    expect(settingsFromEnv(env)).toEqual({});
    expect(overrides(() => undefined, env)).toEqual([]);
  });

  it("merges values into the context, keeps the rest of cdktf.json, and reports each change", () => {
    const changes = persistSettings(file, {
      name: "thumbs",
      region: "eu-west-1",
      memoryMb: "2048",
    });

    expect(changes).toEqual([
      { key: "region", from: undefined, to: "eu-west-1" },
      { key: "memoryMb", from: undefined, to: "2048" },
    ]);
    expect(JSON.parse(readFileSync(file, "utf8"))).toEqual({
      ...original,
      context: { name: "thumbs", region: "eu-west-1", memoryMb: "2048" },
    });
  });

  it("refuses an unknown key, naming it, and writes nothing", () => {
    const before = readFileSync(file, "utf8");

    expect(() => persistSettings(file, { region: "eu-west-1", regoin: "x" })).toThrow(
      /not a setting: regoin; expected one of region, name/,
    );
    expect(readFileSync(file, "utf8")).toBe(before);
  });

  it("lists the variables that differ from the persisted values, not the ones that agree", () => {
    const persisted: Record<string, unknown> = { region: "eu-west-1", memoryMb: 2048 };

    const found = overrides((key) => persisted[key], {
      THUMBNAILER_REGION: "us-east-1",
      THUMBNAILER_MEMORY_MB: "2048",
      THUMBNAILER_ARCHITECTURE: "arm64",
    });

    expect(found).toEqual([
      { key: "region", env: "THUMBNAILER_REGION", value: "us-east-1", persisted: "eu-west-1" },
      {
        key: "architecture",
        env: "THUMBNAILER_ARCHITECTURE",
        value: "arm64",
        persisted: undefined,
      },
    ]);
  });
});
