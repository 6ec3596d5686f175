/**
 * The settings tables of docs/handler.md, docs/local.md and docs/deploy.md, generated from the
 * settings rows; __tests__/settings.test.ts asserts each doc contains its table verbatim.
 */

import { HANDLER_SERVE_SETTINGS, SERVE_SETTINGS } from "../../cli/serve/settings";
import { defaultText } from "../../cli/setting-flags";
import type { Setting } from "../../cli/settings";
import { HANDLER_SETTINGS, THUMBNAIL_SETTINGS } from "../../cli/settings";
import { STACK_HANDLER_SETTINGS } from "../../stacks/config";

type Table = Record<string, Setting<unknown>>;

/** A Markdown table with padded columns, as the docs are formatted. */
export function markdownTable(header: readonly string[], rows: readonly string[][]): string {
  const widths = header.map((title, i) =>
    Math.max(3, title.length, ...rows.map((row) => (row[i] ?? "").length)),
  );
  const line = (cells: readonly string[]) =>
    `| ${cells.map((cell, i) => cell.padEnd(widths[i] ?? 0)).join(" | ")} |`;
  return [line(header), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)].join("\n");
}

const code = (text: string) => `\`${text}\``;
const flag = (setting: Setting<unknown>) =>
  setting.flag ? code(`--${setting.flag.name} ${setting.flag.arg}`) : "";
const rows = (...tables: Table[]) => tables.flatMap((table) => Object.values(table));
/** A value in code type; a description (e.g. "(required)") as text. */
const shownDefault = (setting: Setting<unknown>, command?: "serve") => {
  const value = command === "serve" && setting.serveDefault !== undefined;
  const text = defaultText(setting, command);
  return value || setting.shownDefault === undefined ? code(text) : text;
};

/** docs/handler.md: every variable the handler reads. */
export function handlerTable(): string {
  return markdownTable(
    ["Variable", "Default", "Accepted", "Meaning"],
    rows(HANDLER_SETTINGS).map((s) => [code(s.env), shownDefault(s), s.parse.accepted, s.doc]),
  );
}

/** docs/local.md: the thumbnail options of `make` and `serve`. */
export function thumbnailFlagsTable(): string {
  return markdownTable(
    ["Flag", "Handler variable", "Default", "Accepted", "Meaning"],
    rows(THUMBNAIL_SETTINGS).map((s) => [
      flag(s),
      code(s.env),
      shownDefault(s),
      s.parse.accepted,
      s.doc,
    ]),
  );
}

/** docs/local.md: `serve`'s own flags and the handler's it takes, with serve's defaults. */
export function serveTable(): string {
  return markdownTable(
    ["Flag", "Variable", "Default", "Accepted", "Meaning"],
    rows(SERVE_SETTINGS, HANDLER_SERVE_SETTINGS).map((s) => [
      flag(s),
      code(s.env),
      shownDefault(s, "serve"),
      s.parse.accepted,
      s.doc,
    ]),
  );
}

/** docs/deploy.md: the handler's settings the stack passes to the function. */
export function stackHandlerTable(): string {
  return markdownTable(
    ["Context key", "Environment variable", "Lambda variable"],
    STACK_HANDLER_SETTINGS.map((s) => [code(s.key), code(s.env), code(s.lambdaEnv)]),
  );
}
