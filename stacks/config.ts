/**
 * The infrastructure's configuration: one row per setting (its cdktf.json context key is the
 * row's name; its environment variable, parser with bounds, default and one-line doc), from which
 * the InfraConfig type, readInfraConfig and docs/deploy.md's table are derived. main.ts reads it
 * once and passes the result down; nothing under stacks/ reads process.env.
 *
 * Precedence: environment variable > cdktf.json "context" > default. An empty environment
 * variable counts as unset.
 */

import { closest } from "../cli/did-you-mean";
import { SERVE_SETTINGS } from "../cli/serve/settings";
import { HANDLER_SETTINGS, VARIABLE_PREFIX, variableOf } from "../cli/settings";
import { readConfig as readHandlerConfig } from "../handler/config";
import { ConfigError } from "../handler/errors";
import {
  anyText,
  boolean,
  bucketName,
  integer,
  oneOf,
  type Parser,
  region,
  text,
} from "../handler/parse";

/** One infrastructure setting; `D` is its default's type (undefined: the setting is optional). */
export interface InfraSetting<T = unknown, D extends T | undefined = T | undefined> {
  /** Environment variable; wins over the context. */
  readonly env: string;
  readonly parse: Parser<T>;
  /** Used when the setting is unset. */
  readonly default?: D;
  /** The default as docs/deploy.md shows it (Markdown), when not the value itself. */
  readonly shownDefault?: string;
  /** What the setting does, for docs/deploy.md. */
  readonly doc: string;
}

/** A row, its default checked against its parser's type. */
function setting<T, const D extends T | undefined = undefined>(
  row: InfraSetting<T, D>,
): InfraSetting<T, D> {
  return row;
}

/** CloudWatch Logs accepts only these retention periods. */
const LOG_RETENTION_DAYS = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288,
  3653,
] as const;

const ROWS = {
  region: setting({
    env: "THUMBNAILER_REGION",
    parse: region,
    default: "us-east-1",
    doc: "AWS region of every resource",
  }),
  // Resource names are "<name>-thumbnails-<account>-<region>" (<= 63 characters for S3).
  name: setting({
    env: "THUMBNAILER_NAME",
    parse: text(
      /^[a-z][a-z0-9-]{1,18}[a-z0-9]$/,
      "3-20 characters: lowercase letters, digits and hyphens, starting with a letter",
    ),
    default: "thumbnailer",
    doc: 'deployment name: prefixes every resource name and state file (see "Several deployments in one account")',
  }),
  // The conservative default; the Dockerfile builds either without emulation.
  architecture: setting({
    env: "THUMBNAILER_ARCHITECTURE",
    parse: oneOf(["x86_64", "arm64"] as const),
    default: "x86_64",
    doc: "the function's CPU; `arm64` is about 20% cheaper per GB-second",
  }),
  memoryMb: setting({
    env: "THUMBNAILER_MEMORY_MB",
    parse: integer(128, 10240),
    default: 1536,
    doc: "the function's memory in MB, sized for sharp, which decodes a whole image in memory (Lambda's CPU share grows with memory)",
  }),
  timeoutSeconds: setting({
    env: "THUMBNAILER_TIMEOUT_SECONDS",
    parse: integer(1, 900),
    default: 60,
    doc: "how long one invocation may run",
  }),
  reservedConcurrency: setting({
    env: "THUMBNAILER_RESERVED_CONCURRENCY",
    // 0 would throttle every invocation: refuse it rather than deploy a dead function.
    parse: integer(1, 100000, "an integer of at least 1 (unset = unreserved)"),
    shownDefault: "unset (the account's pool)",
    doc: "caps parallel runs, and so cost",
  }),
  retryAttempts: setting({
    env: "THUMBNAILER_RETRY_ATTEMPTS",
    parse: integer(0, 2),
    default: 2,
    doc: "retries of a failed asynchronous invocation",
  }),
  maxEventAgeSeconds: setting({
    env: "THUMBNAILER_MAX_EVENT_AGE_SECONDS",
    parse: integer(60, 21600),
    // The maximum: an event waiting out a throttle is retried instead of dropped.
    default: 21600,
    doc: "how long an event may wait (e.g. while throttled) before it goes to the failure queue; at least `timeoutSeconds`",
  }),
  logRetentionDays: setting({
    env: "THUMBNAILER_LOG_RETENTION_DAYS",
    parse: oneOf(LOG_RETENTION_DAYS),
    default: 30,
    doc: "how long CloudWatch Logs keeps the function's logs",
  }),
  keepImages: setting({
    env: "THUMBNAILER_KEEP_IMAGES",
    parse: integer(1, 1000),
    default: 10,
    doc: "newest images kept in ECR; older ones expire, except the `deployed` and `previous` ones",
  }),
  forceDestroyBuckets: setting({
    env: "THUMBNAILER_FORCE_DESTROY_BUCKETS",
    parse: boolean,
    default: false,
    doc: "`true` lets `destroy` delete buckets that still hold objects",
  }),
  githubRepository: setting({
    env: "THUMBNAILER_GITHUB_REPOSITORY",
    parse: text(/^[A-Za-z0-9-]+\/[A-Za-z0-9._-]+$/, "owner/name of a GitHub repository"),
    shownDefault: "unset (no CI role)",
    doc: "its `main` branch may assume the deploy role",
  }),
  githubOidcProviderArn: setting({
    env: "THUMBNAILER_GITHUB_OIDC_PROVIDER_ARN",
    parse: text(
      /^arn:aws[a-z-]*:iam::\d{12}:oidc-provider\/token\.actions\.githubusercontent\.com$/,
      "the ARN of an IAM OIDC provider for token.actions.githubusercontent.com",
    ),
    shownDefault: "unset (create one)",
    doc: "the account's existing provider, to reuse (an account has at most one); bootstrap.sh persists it when it finds one this deployment did not create",
  }),
  imageTag: setting({
    env: "THUMBNAILER_IMAGE_TAG",
    parse: text(/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/, "a Docker tag: [A-Za-z0-9_.-], 1-128 chars"),
    shownDefault: "`<architecture>-<16 hex of the image inputs' hash>`",
    doc: "the tag the deploy pushes the image under; tags are immutable, so a fixed tag can be pushed only once: a deploy whose image inputs differ from what it holds is refused (below)",
  }),
  notificationPrefix: setting({
    env: "THUMBNAILER_NOTIFICATION_PREFIX",
    parse: anyText(1024),
    default: "",
    shownDefault: '`""` (whole bucket)',
    doc: "only keys under this prefix trigger the function (also the handler's `SOURCE_PREFIX`, and the scope of its read permission)",
  }),
  notificationSuffix: setting({
    env: "THUMBNAILER_NOTIFICATION_SUFFIX",
    parse: anyText(1024),
    default: "",
    doc: "only keys ending with this trigger the function, e.g. `.jpg`",
  }),
  alarmEmail: setting({
    env: "THUMBNAILER_ALARM_EMAIL",
    parse: text(/^[^@\s]+@[^@\s]+\.[^@\s]+$/, "an e-mail address"),
    shownDefault: "unset (alarms without actions)",
    doc: "alarms notify this address through SNS (confirm the subscription e-mail)",
  }),
  stateBucket: setting({
    env: "THUMBNAILER_STATE_BUCKET",
    parse: bucketName,
    shownDefault: "unset (local state files; bootstrap.sh sets it)",
    doc: "keep Terraform state in this S3 bucket (bootstrap.sh creates it), key `<name>/<region>/<stack>.tfstate`, encrypted, locked with an S3 lock file",
  }),
  stateRegion: setting({
    env: "THUMBNAILER_STATE_REGION",
    parse: region,
    shownDefault: "`region`",
    doc: "region of the state bucket",
  }),
};

type Rows = typeof ROWS;
type ValueOf<S> = S extends InfraSetting<infer T> ? T : never;
/** The settings with a default: always set. */
type Defaulted = {
  [K in keyof Rows]: Rows[K] extends InfraSetting<infer _T, infer D>
    ? undefined extends D
      ? never
      : K
    : never;
}[keyof Rows];

/** Every setting's value, typed by its parser; the ones without a default may be unset. */
export type InfraConfig = {
  readonly [K in Defaulted]: ValueOf<Rows[K]>;
} & {
  readonly [K in Exclude<keyof Rows, Defaulted>]?: ValueOf<Rows[K]>;
} & {
  /** The handler's environment variables (DEST_PREFIX, THUMB_*, ...): only the ones set. */
  readonly handlerEnvironment: Readonly<Record<string, string>>;
  /** Where the renditions land: DEST_PREFIX + each rendition's prefix. */
  readonly destinationPrefixes: readonly string[];
  /** DEST_PREFIX as the handler reads it: every rendition's prefix is under it. */
  readonly destinationPrefix: string;
};

/** Every infrastructure setting, each with its context key. */
export const SETTINGS = Object.fromEntries(
  Object.entries(ROWS).map(([key, row]) => [key, { ...row, key }]),
) as { readonly [K in keyof Rows]: Rows[K] & { readonly key: K } };

/** Where a setting's raw value comes from. */
export interface ConfigSources {
  /** cdktf.json "context" (app.node.tryGetContext). */
  readonly context: (key: string) => unknown;
  readonly env: NodeJS.ProcessEnv;
}

/** A setting as readInfraConfig reads it: context key, environment variable, parser. */
interface Source<T> {
  readonly key: string;
  readonly env: string;
  readonly parse: Parser<T>;
}

/**
 * Switches for one run of a deploy, not settings: no stack reads them, nothing persists them in
 * cdktf.json; the scripts the deploy runs read them from the environment it inherits.
 * THUMBNAILER_ALLOW_ROLLBACK=1 lets scripts/check-rollout.sh roll out a checkout that does not
 * contain the deployed commit, or uncommitted image inputs (docs/deploy.md).
 */
export const ONE_RUN_SWITCHES = ["THUMBNAILER_ALLOW_ROLLBACK"] as const;

/**
 * The handler's settings the stack passes to the function (handler/settings.ts, rows marked
 * `stack`): context key, the variable users set for it everywhere (cli/settings.ts, e.g.
 * THUMBNAILER_THUMB_WIDTH), and the Lambda environment variable (THUMB_WIDTH). Unset ones are
 * left out so the handler's own defaults apply; they are parsed by the handler's own parsers, so
 * both agree on what is accepted.
 */
export const STACK_HANDLER_SETTINGS: readonly (Source<unknown> & {
  readonly lambdaEnv: string;
})[] = Object.entries(HANDLER_SETTINGS).flatMap(([key, setting]) =>
  "stack" in setting && setting.stack
    ? [{ key, env: variableOf(setting), lambdaEnv: setting.env, parse: setting.parse }]
    : [],
);

/**
 * Reads and validates the whole configuration. Throws one ConfigError listing every bad setting,
 * each line naming the setting, its environment variable, the value and what is accepted.
 */
export function readInfraConfig(sources: ConfigSources): InfraConfig {
  const problems: string[] = [];

  function rawValue(setting: Source<unknown>): unknown {
    const fromEnv = sources.env[setting.env];
    return fromEnv !== undefined && fromEnv !== "" ? fromEnv : sources.context(setting.key);
  }

  function read<T>(setting: Source<T>): T | undefined {
    const raw = rawValue(setting);
    if (raw === undefined || raw === null) return undefined;
    const result = setting.parse(raw);
    if (result.ok) return result.value;
    problems.push(
      `${setting.key} (${setting.env}): ${JSON.stringify(raw)} is not accepted; expected ${setting.parse.accepted}`,
    );
    return undefined;
  }

  problems.push(...unknownVariables(sources.env));

  const handlerEnvironment: Record<string, string> = {};
  for (const setting of STACK_HANDLER_SETTINGS) {
    const raw = rawValue(setting);
    // A list in cdktf.json's context (renditions) reaches the function as its JSON text.
    const text = typeof raw === "object" && raw !== null ? JSON.stringify(raw) : String(raw);
    if (read(setting) !== undefined) handlerEnvironment[setting.lambdaEnv] = text;
  }

  const values = Object.fromEntries(
    Object.values(SETTINGS).map((setting) => [
      setting.key,
      read<unknown>(setting) ?? setting.default,
    ]),
  );
  const config = { ...values, handlerEnvironment } as Omit<
    InfraConfig,
    "destinationPrefixes" | "destinationPrefix"
  >;
  problems.push(...crossSettingProblems(config));

  // The handler checks its settings together at cold start; checking them here too fails the
  // synth instead of the deployed function. The bucket names are placeholders.
  let destinationPrefixes: string[] = [];
  let destinationPrefix = "";
  try {
    const handler = readHandlerConfig({
      ...handlerEnvironment,
      DEST_BUCKET: "example-thumbnails",
      SOURCE_BUCKET: "example-source",
      SOURCE_PREFIX: config.notificationPrefix,
    });
    destinationPrefixes = handler.renditions.map((r) => handler.destPrefix + r.prefix);
    destinationPrefix = handler.destPrefix;
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    const setting = STACK_HANDLER_SETTINGS.find((h) => h.lambdaEnv === error.setting);
    problems.push(setting ? `${setting.key} (${setting.env}): ${error.message}` : error.message);
  }

  if (problems.length > 0) {
    throw new ConfigError(`Invalid infrastructure configuration:\n  - ${problems.join("\n  - ")}`);
  }
  return { ...config, destinationPrefixes, destinationPrefix };
}

/** Settings that are each valid but not together. */
function crossSettingProblems(
  config: Omit<InfraConfig, "destinationPrefixes" | "destinationPrefix">,
): string[] {
  const s = SETTINGS;
  const problems: string[] = [];
  if (config.githubOidcProviderArn !== undefined && config.githubRepository === undefined) {
    problems.push(
      `githubOidcProviderArn (${s.githubOidcProviderArn.env}) is set but githubRepository ` +
        `(${s.githubRepository.env}) is not; expected both, or neither`,
    );
  }
  if (config.stateRegion !== undefined && config.stateBucket === undefined) {
    problems.push(
      `stateRegion (${s.stateRegion.env}) is set but stateBucket (${s.stateBucket.env}) is not; ` +
        "expected a state bucket with it",
    );
  }
  if (config.timeoutSeconds > config.maxEventAgeSeconds) {
    problems.push(
      `maxEventAgeSeconds (${s.maxEventAgeSeconds.env}) ${config.maxEventAgeSeconds} is shorter ` +
        `than timeoutSeconds ${config.timeoutSeconds}; expected at least the timeout`,
    );
  }
  return problems;
}

/** The prefixes of the variables that are ours: a name under them that is no setting is a typo. */
const OUR_PREFIXES = [VARIABLE_PREFIX, "THUMB_"] as const;

/**
 * Every variable a user sets for this project, in one list: the infrastructure's, the handler's
 * as every command reads them (THUMBNAILER_THUMB_WIDTH, ...), the local service's, the one-run
 * switches. The Lambda's own names (THUMB_WIDTH) are not among them: only the stack sets those.
 */
export function knownVariables(): string[] {
  return [
    ...Object.values(SETTINGS).map((setting) => setting.env),
    ...Object.values(HANDLER_SETTINGS).map(variableOf),
    ...Object.values(SERVE_SETTINGS).map(variableOf),
    ...ONE_RUN_SWITCHES,
  ].filter((name) => name.startsWith(VARIABLE_PREFIX));
}

/**
 * THUMBNAILER_* and THUMB_* variables that are no setting, one problem each naming the closest
 * setting: a typo would otherwise leave the default in place silently. Synth, `make`, `serve`
 * and `backfill` all refuse them (cli/setting-flags.ts refuseUnknownVariables).
 */
export function unknownVariables(env: NodeJS.ProcessEnv): string[] {
  const known = knownVariables();
  // Compared without the prefix they all share, so "THUMBNAILER_" is no evidence, and the
  // function's own THUMB_WIDTH finds THUMBNAILER_THUMB_WIDTH.
  const bare = (name: string) =>
    name.startsWith(VARIABLE_PREFIX) ? name.slice(VARIABLE_PREFIX.length) : name;
  return Object.keys(env)
    .filter((name) => OUR_PREFIXES.some((prefix) => name.startsWith(prefix)))
    .filter((name) => !known.includes(name))
    .map((name) => {
      const guess = closest(bare(name), known.map(bare));
      const suggestion = guess === undefined ? "" : `; did you mean ${VARIABLE_PREFIX}${guess}?`;
      return `${name} is not a setting${suggestion}`;
    });
}
