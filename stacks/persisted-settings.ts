/**
 * The settings a deployment was made with, kept in the checkout: cdktf.json "context". Every
 * command that synthesizes (npm run deploy/destroy, npx cdktf ..., scripts/*.sh, CI's synth)
 * reads them from there, so they all plan the same resources. scripts/bootstrap.sh writes them;
 * ops/settings.ts is the command-line face of this module.
 *
 * An environment variable still wins over the context (stacks/config.ts), for one-off runs;
 * `overrides` lists where it does, so main.ts can say so and scripts/destroy.sh can refuse.
 */
import { readFileSync, renameSync, writeFileSync } from "node:fs";
import { SETTINGS, STACK_HANDLER_SETTINGS } from "./config";

/** Every infrastructure and handler setting: context key and environment variable. */
const ALL_SETTINGS: readonly { readonly key: string; readonly env: string }[] = [
  ...Object.values(SETTINGS),
  ...STACK_HANDLER_SETTINGS,
];

export type ContextValue = string | number | boolean;

/** A persisted value that changed: `from` is undefined for a new key. */
export interface SettingChange {
  readonly key: string;
  readonly from?: ContextValue;
  readonly to: ContextValue;
}

/** An environment variable whose value differs from the persisted one (undefined = not persisted). */
export interface SettingOverride {
  readonly key: string;
  readonly env: string;
  readonly value: string;
  readonly persisted?: ContextValue;
}

interface CdktfJson {
  context?: Record<string, unknown>;
  [field: string]: unknown;
}

function readCdktfJson(file: string): CdktfJson {
  return JSON.parse(readFileSync(file, "utf8")) as CdktfJson;
}

/** cdktf.json's "context" ({} when there is none). */
export function readPersisted(file: string): Record<string, unknown> {
  return readCdktfJson(file).context ?? {};
}

/** The settings given as THUMBNAILER_* variables (set and non-empty), by context key. */
export function settingsFromEnv(env: NodeJS.ProcessEnv): Record<string, string> {
  const found: Record<string, string> = {};
  for (const { key, env: name } of ALL_SETTINGS) {
    const value = env[name];
    if (value !== undefined && value !== "") found[key] = value;
  }
  return found;
}

/** Whether `key` is the context key of a setting. */
export function isSettingKey(key: string): boolean {
  return ALL_SETTINGS.some((setting) => setting.key === key);
}

/**
 * Merges `values` into cdktf.json's context and returns what changed. Unknown keys are refused
 * before anything is written; the file is replaced in one rename, never half-written.
 */
export function persistSettings(
  file: string,
  values: Readonly<Record<string, ContextValue>>,
): SettingChange[] {
  const unknown = Object.keys(values).filter((key) => !isSettingKey(key));
  if (unknown.length > 0) {
    throw new Error(
      `not a setting: ${unknown.join(", ")}; expected one of ${ALL_SETTINGS.map((s) => s.key).join(", ")}`,
    );
  }
  const json = readCdktfJson(file);
  const context: Record<string, unknown> = { ...(json.context ?? {}) };
  const changes: SettingChange[] = [];
  for (const [key, to] of Object.entries(values)) {
    const from = context[key] as ContextValue | undefined;
    if (from !== undefined && String(from) === String(to)) continue;
    context[key] = to;
    changes.push({ key, from, to });
  }
  if (changes.length > 0) {
    const temporary = `${file}.${process.pid}.tmp`;
    writeFileSync(temporary, `${JSON.stringify({ ...json, context }, null, 2)}\n`);
    renameSync(temporary, file);
  }
  return changes;
}

/** THUMBNAILER_* variables that differ from the persisted settings. */
export function overrides(
  persisted: (key: string) => unknown,
  env: NodeJS.ProcessEnv,
): SettingOverride[] {
  return Object.entries(settingsFromEnv(env)).flatMap(([key, value]) => {
    const stored = (persisted(key) ?? undefined) as ContextValue | undefined;
    if (stored !== undefined && String(stored) === value) return [];
    const name = ALL_SETTINGS.find((s) => s.key === key)?.env ?? key;
    return [{ key, env: name, value, persisted: stored }];
  });
}

/** One line per override, e.g. `THUMBNAILER_REGION=eu-west-1 overrides cdktf.json region "us-east-1"`. */
export function describeOverride(o: SettingOverride): string {
  const persisted = o.persisted === undefined ? "(not set there)" : JSON.stringify(o.persisted);
  return `${o.env}=${o.value} overrides cdktf.json context ${o.key} ${persisted}`;
}
