/**
 * Settings as command-line flags, derived from their rows (cli/settings.ts and the local
 * service's own rows): the parseArgs options, the --help lines, and reading each value from its
 * flag or its variable (the name a deployment takes too, e.g. THUMBNAILER_THUMB_WIDTH).
 */
import { readFile } from "node:fs/promises";
import { type ParseArgsConfig, parseArgs } from "node:util";
import { readRenditions } from "../handler/config";
import { DEFAULT_OPTIONS } from "../handler/engine/options";
import { ThumbnailError } from "../handler/errors";
import { unknownVariables } from "../stacks/config";
import { closest } from "./did-you-mean";
import {
  isUnset,
  readSetting,
  type Setting,
  type SettingValues,
  THUMB_ROWS,
  THUMBNAIL_SETTINGS,
  variableOf,
} from "./settings";

type Table = Record<string, Setting<unknown>>;
type Options = NonNullable<ParseArgsConfig["options"]>;

/** A command line the command cannot run: print the message, exit 2. */
export class UsageError extends Error {
  override readonly name = "UsageError";
}

/** "thumbnailer COMMAND: MESSAGE" and where its usage is, on stderr; the exit code of a usage error. */
export function usageError(command: string, message: string): 2 {
  process.stderr.write(
    `thumbnailer ${command}: ${message}\nRun \`thumbnailer ${command} --help\` for usage.\n`,
  );
  return 2;
}

/** What a command's step gave: its value, or the exit code of the usage error it printed. */
export type Step<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly exitCode: 2 };

/**
 * A step of reading a command's line and settings, as `make`, `serve` and `backfill` take it: a
 * UsageError or ThumbnailError thrown by `read` (a flag or variable that cannot work) is printed
 * as a usage error (exit 2). With `table`, once read, a line for each of its rows' old names that
 * is set (oldNameNotes).
 */
export async function commandStep<T>(
  command: string,
  read: () => T | Promise<T>,
  table?: Table,
): Promise<Step<T>> {
  let value: T;
  try {
    value = await read();
  } catch (error) {
    if (error instanceof UsageError || error instanceof ThumbnailError) {
      return { ok: false, exitCode: usageError(command, error.message) };
    }
    throw error;
  }
  for (const note of table === undefined ? [] : oldNameNotes(table, process.env)) {
    process.stderr.write(`thumbnailer ${command}: ${note}\n`);
  }
  return { ok: true, value };
}

/** parseArgs options for the rows of `tables` that have a flag. */
export function flagOptions(...tables: Table[]): Options {
  return Object.fromEntries(
    tables
      .flatMap((table) => Object.values(table))
      .flatMap(({ flag }) => (flag ? [[flag.name, { type: "string" as const }]] : [])),
  );
}

/**
 * util.parseArgs, strict; an unknown option is a UsageError naming the closest known one
 * ("Unknown option '--widht'; did you mean --width?").
 */
export function parseCommandLine<T extends ParseArgsConfig>(config: T) {
  try {
    return parseArgs({ ...config, strict: true });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException | undefined)?.code;
    if (typeof code !== "string" || !code.startsWith("ERR_PARSE_ARGS")) throw error;
    // Parsed again leniently to find an unknown option: the likeliest mistake, reported first.
    const { tokens = [] } = parseArgs({
      ...config,
      strict: false,
      allowPositionals: true,
      tokens: true,
    });
    const known = Object.keys(config.options ?? {});
    const unknown = tokens.find((token) => token.kind === "option" && !known.includes(token.name));
    if (unknown?.kind !== "option") throw new UsageError((error as Error).message);
    const name = unknown.rawName;
    const guess = closest(name.replace(/^-+/, ""), known);
    throw new UsageError(
      `Unknown option '${name}'${guess === undefined ? "" : `; did you mean --${guess}?`}`,
    );
  }
}

/**
 * Refuses THUMBNAILER_* and THUMB_* variables that are no setting (stacks/config.ts
 * unknownVariables, the one list of every name), each with the closest name: a typo must not
 * leave the default in place silently.
 */
export function refuseUnknownVariables(env: NodeJS.ProcessEnv): void {
  const problems = unknownVariables(env);
  if (problems.length > 0) throw new UsageError(problems.join("\n"));
}

/**
 * The rows' old names that are set: the Lambda's own names (DEST_PREFIX, LOG_LEVEL, ...), which
 * `serve` read until each setting got one name. They are not read; one line each says which
 * name is. Not refused: other tools may own such common names. (The old THUMB_* names carry our
 * prefix, so refuseUnknownVariables refuses them.)
 */
export function oldNameNotes(table: Table, env: NodeJS.ProcessEnv): string[] {
  return Object.values(table).flatMap((setting) =>
    variableOf(setting) !== setting.env &&
    !setting.env.startsWith("THUMB_") &&
    !isUnset(setting, env[setting.env])
      ? [
          `${setting.env} is not read (the deployed function's own name); set ${variableOf(setting)}`,
        ]
      : [],
  );
}

/**
 * The --help lines of the rows with a flag: "  --width N   box width in pixels; an integer from 1
 * to 4096 [256]", wrapped. With `variables`, the brackets also name the environment variable.
 */
export function flagHelp(table: Table, { variables = false } = {}): string {
  return Object.values(table)
    .flatMap((setting) => {
      if (setting.flag === undefined) return [];
      const shown = [...(variables ? [variableOf(setting)] : []), defaultText(setting, "serve")];
      return [
        helpLine(
          `--${setting.flag.name} ${setting.flag.arg}`,
          `${setting.doc}; ${setting.parse.accepted} [${shown.join(", ")}]`,
        ),
      ];
    })
    .join("\n");
}

/** "  NAME   text", the text wrapped at 100 columns and indented under itself. */
export function helpLine(name: string, text: string): string {
  const indent = " ".repeat(26);
  const lines = [`  ${name.padEnd(23)} `];
  for (const word of text.split(" ")) {
    const last = lines.length - 1;
    const line = lines[last] ?? "";
    if (line.length + 1 + word.length > 100 && line.trim() !== name) lines.push(`${indent}${word}`);
    else lines[last] = line.endsWith(" ") ? `${line}${word}` : `${line} ${word}`;
  }
  return lines.join("\n");
}

/** The default as help and docs show it. */
export function defaultText(setting: Setting<unknown>, command?: "serve"): string {
  if (command === "serve" && setting.serveDefault !== undefined) return setting.serveDefault;
  if (setting.shownDefault !== undefined) return setting.shownDefault;
  return setting.default === "" ? '""' : String(setting.default);
}

/** Each row's value from its flag, else (with `env`) its variable, else its default. */
export function readFlags<S extends Table>(
  table: S,
  values: Record<string, unknown>,
  env: NodeJS.ProcessEnv = {},
): SettingValues<S> {
  return Object.fromEntries(
    Object.entries(table).map(([key, setting]) => [key, readFlag(setting, values, env)]),
  ) as SettingValues<S>;
}

/** The text a row is set to by its flag or variable (or serve's default), and where it came from. */
export function flagText(
  setting: Setting<unknown>,
  values: Record<string, unknown>,
  env: NodeJS.ProcessEnv,
): { text: string | undefined; source: string } {
  const flag = setting.flag === undefined ? undefined : values[setting.flag.name];
  if (typeof flag === "string") return { text: flag, source: `--${setting.flag?.name}` };
  const variable = variableOf(setting);
  const fromEnv = env[variable];
  return {
    text: isUnset(setting, fromEnv) ? setting.serveDefault : fromEnv,
    source: variable,
  };
}

/** Where each of `rows` that is set came from: e.g. ["--width", "THUMBNAILER_THUMB_HEIGHT"]. */
export function givenSources(
  rows: readonly Setting<unknown>[],
  values: Record<string, unknown>,
  env: NodeJS.ProcessEnv,
): string[] {
  return rows.flatMap((row) => {
    const { text, source } = flagText(row, values, env);
    return isUnset(row, text) ? [] : [source];
  });
}

/**
 * The handler's environment (its own names) from the rows of `table` set by flag or variable,
 * `@FILE` values read. Each value is checked on its own, and a renditions list with THUMB_* rows
 * set, to name the flag or variable in an error; readConfig then checks them together.
 */
export async function handlerEnvironment(
  table: Table,
  values: Record<string, unknown>,
  env: NodeJS.ProcessEnv,
): Promise<Record<string, string>> {
  const handlerEnv: Record<string, string> = {};
  for (const setting of Object.values(table)) {
    const { text, source } = await fileValue(setting, flagText(setting, values, env));
    readSetting(setting, text, source);
    if (text === undefined) continue;
    handlerEnv[setting.env] = text;
    if (setting.env === THUMBNAIL_SETTINGS.renditions.env) {
      // The options matter only without a list.
      readRenditions(text, source, DEFAULT_OPTIONS, givenSources(THUMB_ROWS, values, env));
    }
  }
  return handlerEnv;
}

function readFlag(
  setting: Setting<unknown>,
  values: Record<string, unknown>,
  env: NodeJS.ProcessEnv,
) {
  const { text, source } = flagText(setting, values, env);
  return readSetting(setting, text, source);
}

/**
 * A value given as "@path" to a row whose flag takes "@FILE" (e.g. `--renditions @list.json`):
 * the file's text, so the value is read like any other. Throws UsageError when it cannot be read.
 */
export async function fileValue(
  setting: Setting<unknown>,
  given: { text: string | undefined; source: string },
): Promise<{ text: string | undefined; source: string }> {
  const { text, source } = given;
  if (!setting.flag?.arg.includes("@FILE") || !text?.startsWith("@")) return given;
  try {
    return { text: await readFile(text.slice(1), "utf8"), source: `${source} ${text}` };
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new UsageError(`${source} ${text}: cannot read the file (${reason})`);
  }
}
