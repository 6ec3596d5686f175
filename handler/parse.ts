/**
 * Parsers of untrusted setting values (environment variables, CLI flags, cdktf.json context):
 * the one set of primitives the handler's settings, the engine's options, the command-line
 * tools and the infrastructure's settings are all read with. A parser returns the typed value,
 * or what it accepts so the caller can name the setting in its own message.
 */

export type Parsed<T> = { readonly ok: true; readonly value: T } | { readonly ok: false };

export interface Parser<T> {
  (raw: unknown): Parsed<T>;
  /** What is accepted, to follow "expected ...", e.g. "an integer from 1 to 64". */
  readonly accepted: string;
}

export function parser<T>(accepted: string, parse: (raw: unknown) => Parsed<T>): Parser<T> {
  return Object.assign(parse, { accepted });
}

export const ok = <T>(value: T): Parsed<T> => ({ ok: true, value });
const no: Parsed<never> = { ok: false };

/** A whole number (a JSON number or its decimal text, surrounding spaces allowed) in [min, max]. */
export function integer(
  min: number,
  max: number = Number.MAX_SAFE_INTEGER,
  accepted?: string,
): Parser<number> {
  const bounds =
    max < Number.MAX_SAFE_INTEGER
      ? `an integer from ${min} to ${max}`
      : min === 1
        ? "a positive integer"
        : `an integer of at least ${min}`;
  return parser(accepted ?? bounds, (raw) => {
    const value = typeof raw === "string" && /^\s*-?\d+\s*$/.test(raw) ? Number(raw) : raw;
    return typeof value === "number" && Number.isSafeInteger(value) && value >= min && value <= max
      ? ok(value)
      : no;
  });
}

/** One of `values`, compared as text (so the number 30 and the text "30" are the same). */
export function oneOf<T extends string | number>(
  values: readonly T[],
  { ignoreCase = false } = {},
): Parser<T> {
  const fold = (text: string) => (ignoreCase ? text.toLowerCase() : text);
  return parser(`one of ${values.join(", ")}`, (raw) => {
    const found = values.find(
      (value) =>
        (typeof raw === "string" || typeof raw === "number") &&
        fold(String(raw)) === fold(String(value)),
    );
    return found === undefined ? no : ok(found);
  });
}

/** Text matching `pattern`. */
export function text(pattern: RegExp, accepted: string): Parser<string> {
  return parser(accepted, (raw) => (typeof raw === "string" && pattern.test(raw) ? ok(raw) : no));
}

/** Any text of at most `maxLength` characters. */
export const anyText = (maxLength: number): Parser<string> =>
  text(new RegExp(`^[\\s\\S]{0,${maxLength}}$`), `a string of at most ${maxLength} characters`);

export const boolean: Parser<boolean> = parser("true or false", (raw) => {
  if (raw === true || raw === "true") return ok(true);
  if (raw === false || raw === "false") return ok(false);
  return no;
});

/** A comma-separated list of `item`s (empty items ignored). */
export function list<T>(item: Parser<T>, example: string): Parser<T[]> {
  return parser(`a comma-separated list, each ${item.accepted}, e.g. ${example}`, (raw) => {
    if (typeof raw !== "string") return no;
    const values: T[] = [];
    for (const part of raw.split(",").filter((p) => p.trim() !== "")) {
      const parsed = item(part);
      if (!parsed.ok) return no;
      values.push(parsed.value);
    }
    return ok(values);
  });
}

/** An http:// or https:// URL. */
export const httpUrl = (example: string): Parser<string> =>
  parser(`an http:// or https:// URL, e.g. "${example}"`, (raw) => {
    if (typeof raw !== "string" || !URL.canParse(raw)) return no;
    const { protocol } = new URL(raw);
    return protocol === "http:" || protocol === "https:" ? ok(raw) : no;
  });

/** S3 bucket naming rules: 3-63 characters, lowercase letters, digits, dots and hyphens. */
export const bucketName = text(
  /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/,
  "an S3 bucket name: 3-63 lowercase letters, digits, dots and hyphens, starting and ending " +
    "with a letter or digit",
);

/** An AWS region such as eu-west-1. */
export const region = text(
  /^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d$/,
  "an AWS region such as eu-west-1",
);
