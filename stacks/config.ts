/**
 * The infrastructure's configuration: every setting, its cdktf.json context key, its environment
 * variable, its default and what it accepts. main.ts reads it once and passes the result down;
 * nothing under stacks/ reads process.env.
 *
 * Precedence: environment variable > cdktf.json "context" > default. An empty environment
 * variable counts as unset.
 */

import { SERVE_SETTINGS } from "../cli/serve/settings";
import { readConfig as readHandlerConfig } from "../handler/config";
import { ConfigError } from "../handler/errors";
import {
  anyText,
  boolean,
  bucketName,
  closest,
  integer,
  oneOf,
  type Parser,
  region,
  text,
} from "../handler/parse";
import { HANDLER_SETTINGS } from "../handler/settings";

export type Architecture = "x86_64" | "arm64";

export interface InfraConfig {
  /** AWS region of every resource. */
  readonly region: string;
  /** Deployment name: prefixes every resource name, so two deployments can share an account. */
  readonly name: string;
  readonly architecture: Architecture;
  readonly memoryMb: number;
  readonly timeoutSeconds: number;
  /** Reserved concurrency; undefined = unreserved (the account's pool). */
  readonly reservedConcurrency?: number;
  /** Asynchronous invocation: retries after a failed attempt (0-2). */
  readonly retryAttempts: number;
  /** Asynchronous invocation: how long an event may wait before it goes to the failure queue. */
  readonly maxEventAgeSeconds: number;
  readonly logRetentionDays: number;
  /** ECR lifecycle: how many images to keep. */
  readonly keepImages: number;
  /** Let `cdktf destroy` delete buckets that still hold objects. */
  readonly forceDestroyBuckets: boolean;
  /** "owner/name" of the GitHub repository whose main branch may deploy; undefined = no CI role. */
  readonly githubRepository?: string;
  /** ARN of an existing GitHub Actions OIDC provider to reuse; undefined = create one. */
  readonly githubOidcProviderArn?: string;
  /** Tag the deploy pushes the image under; undefined = derived from the image inputs' hash. */
  readonly imageTag?: string;
  /** S3 notification filters on the source bucket ("" = none). */
  readonly notificationPrefix: string;
  readonly notificationSuffix: string;
  /** Alarm notifications go to this address through SNS; undefined = alarms without actions. */
  readonly alarmEmail?: string;
  /** Remote state (S3 backend with a lock file); undefined = local state files. */
  readonly stateBucket?: string;
  readonly stateRegion?: string;
  /** The handler's environment variables (DEST_PREFIX, THUMB_*, ...): only the ones set. */
  readonly handlerEnvironment: Readonly<Record<string, string>>;
  /** Where the function writes and deletes: DEST_PREFIX + each rendition's prefix. */
  readonly destinationPrefixes: readonly string[];
}

/** Where a setting's raw value comes from. */
export interface ConfigSources {
  /** cdktf.json "context" (app.node.tryGetContext). */
  readonly context: (key: string) => unknown;
  readonly env: NodeJS.ProcessEnv;
}

interface Setting<T> {
  /** cdktf.json context key. */
  readonly key: string;
  /** Environment variable; wins over the context. */
  readonly env: string;
  readonly parse: Parser<T>;
}

/** CloudWatch Logs accepts only these retention periods. */
const LOG_RETENTION_DAYS = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288,
  3653,
] as const;

export const SETTINGS = {
  region: { key: "region", env: "THUMBNAILER_REGION", parse: region },
  // Resource names are "<name>-thumbnails-<account>-<region>" (<= 63 characters for S3).
  name: {
    key: "name",
    env: "THUMBNAILER_NAME",
    parse: text(
      /^[a-z][a-z0-9-]{1,18}[a-z0-9]$/,
      "3-20 characters: lowercase letters, digits and hyphens, starting with a letter",
    ),
  },
  architecture: {
    key: "architecture",
    env: "THUMBNAILER_ARCHITECTURE",
    parse: oneOf(["x86_64", "arm64"] as const),
  },
  memoryMb: { key: "memoryMb", env: "THUMBNAILER_MEMORY_MB", parse: integer(128, 10240) },
  timeoutSeconds: {
    key: "timeoutSeconds",
    env: "THUMBNAILER_TIMEOUT_SECONDS",
    parse: integer(1, 900),
  },
  reservedConcurrency: {
    key: "reservedConcurrency",
    env: "THUMBNAILER_RESERVED_CONCURRENCY",
    // 0 would throttle every invocation: refuse it rather than deploy a dead function.
    parse: integer(1, 100000, "an integer of at least 1 (unset = unreserved)"),
  },
  retryAttempts: { key: "retryAttempts", env: "THUMBNAILER_RETRY_ATTEMPTS", parse: integer(0, 2) },
  maxEventAgeSeconds: {
    key: "maxEventAgeSeconds",
    env: "THUMBNAILER_MAX_EVENT_AGE_SECONDS",
    parse: integer(60, 21600),
  },
  logRetentionDays: {
    key: "logRetentionDays",
    env: "THUMBNAILER_LOG_RETENTION_DAYS",
    parse: oneOf(LOG_RETENTION_DAYS),
  },
  keepImages: { key: "keepImages", env: "THUMBNAILER_KEEP_IMAGES", parse: integer(1, 1000) },
  forceDestroyBuckets: {
    key: "forceDestroyBuckets",
    env: "THUMBNAILER_FORCE_DESTROY_BUCKETS",
    parse: boolean,
  },
  githubRepository: {
    key: "githubRepository",
    env: "THUMBNAILER_GITHUB_REPOSITORY",
    parse: text(/^[A-Za-z0-9-]+\/[A-Za-z0-9._-]+$/, "owner/name of a GitHub repository"),
  },
  githubOidcProviderArn: {
    key: "githubOidcProviderArn",
    env: "THUMBNAILER_GITHUB_OIDC_PROVIDER_ARN",
    parse: text(
      /^arn:aws[a-z-]*:iam::\d{12}:oidc-provider\/token\.actions\.githubusercontent\.com$/,
      "the ARN of an IAM OIDC provider for token.actions.githubusercontent.com",
    ),
  },
  imageTag: {
    key: "imageTag",
    env: "THUMBNAILER_IMAGE_TAG",
    parse: text(/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/, "a Docker tag: [A-Za-z0-9_.-], 1-128 chars"),
  },
  notificationPrefix: {
    key: "notificationPrefix",
    env: "THUMBNAILER_NOTIFICATION_PREFIX",
    parse: anyText(1024),
  },
  notificationSuffix: {
    key: "notificationSuffix",
    env: "THUMBNAILER_NOTIFICATION_SUFFIX",
    parse: anyText(1024),
  },
  alarmEmail: {
    key: "alarmEmail",
    env: "THUMBNAILER_ALARM_EMAIL",
    parse: text(/^[^@\s]+@[^@\s]+\.[^@\s]+$/, "an e-mail address"),
  },
  stateBucket: {
    key: "stateBucket",
    env: "THUMBNAILER_STATE_BUCKET",
    parse: bucketName,
  },
  stateRegion: { key: "stateRegion", env: "THUMBNAILER_STATE_REGION", parse: region },
} satisfies Record<string, Setting<unknown>>;

/** Every infrastructure variable's prefix. */
const PREFIX = "THUMBNAILER_";

/**
 * Switches for one run of a deploy, not settings: no stack reads them, nothing persists them in
 * cdktf.json; the scripts the deploy runs read them from the environment it inherits.
 * THUMBNAILER_ALLOW_ROLLBACK=1 lets scripts/check-rollout.sh roll out a checkout that does not
 * contain the deployed commit, or uncommitted image inputs (docs/deploy.md).
 */
export const ONE_RUN_SWITCHES = ["THUMBNAILER_ALLOW_ROLLBACK"] as const;

/**
 * The handler's settings the stack passes to the function (handler/settings.ts, rows marked
 * `stack`): context key, THUMBNAILER_<variable> here, and the Lambda environment variable. Unset
 * ones are left out so the handler's own defaults apply; they are parsed by the handler's own
 * parsers, so both agree on what is accepted.
 */
export const STACK_HANDLER_SETTINGS: readonly (Setting<unknown> & {
  readonly lambdaEnv: string;
})[] = Object.entries(HANDLER_SETTINGS).flatMap(([key, setting]) =>
  "stack" in setting && setting.stack
    ? [{ key, env: `${PREFIX}${setting.env}`, lambdaEnv: setting.env, parse: setting.parse }]
    : [],
);

export const DEFAULTS = {
  region: "us-east-1",
  name: "thumbnailer",
  // The conservative choice; arm64 is ~20% cheaper per GB-second (the Dockerfile builds either
  // without emulation).
  architecture: "x86_64",
  // sharp decodes a whole image in memory, and Lambda's CPU share grows with memory.
  memoryMb: 1536,
  timeoutSeconds: 60,
  retryAttempts: 2,
  // The maximum: an event waiting out a throttle is retried instead of dropped.
  maxEventAgeSeconds: 21600,
  logRetentionDays: 30,
  keepImages: 10,
  forceDestroyBuckets: false,
  notificationPrefix: "",
  notificationSuffix: "",
} as const;

/**
 * Reads and validates the whole configuration. Throws one ConfigError listing every bad setting,
 * each line naming the setting, its environment variable, the value and what is accepted.
 */
export function readInfraConfig(sources: ConfigSources): InfraConfig {
  const problems: string[] = [];

  function rawValue(setting: Setting<unknown>): unknown {
    const fromEnv = sources.env[setting.env];
    return fromEnv !== undefined && fromEnv !== "" ? fromEnv : sources.context(setting.key);
  }

  function read<T>(setting: Setting<T>): T | undefined {
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

  const s = SETTINGS;
  const handlerEnvironment: Record<string, string> = {};
  for (const setting of STACK_HANDLER_SETTINGS) {
    const raw = rawValue(setting);
    // A list in cdktf.json's context (renditions) reaches the function as its JSON text.
    const text = typeof raw === "object" && raw !== null ? JSON.stringify(raw) : String(raw);
    if (read(setting) !== undefined) handlerEnvironment[setting.lambdaEnv] = text;
  }

  const config: Omit<InfraConfig, "destinationPrefixes"> = {
    region: read(s.region) ?? DEFAULTS.region,
    name: read(s.name) ?? DEFAULTS.name,
    architecture: read(s.architecture) ?? DEFAULTS.architecture,
    memoryMb: read(s.memoryMb) ?? DEFAULTS.memoryMb,
    timeoutSeconds: read(s.timeoutSeconds) ?? DEFAULTS.timeoutSeconds,
    reservedConcurrency: read(s.reservedConcurrency),
    retryAttempts: read(s.retryAttempts) ?? DEFAULTS.retryAttempts,
    maxEventAgeSeconds: read(s.maxEventAgeSeconds) ?? DEFAULTS.maxEventAgeSeconds,
    logRetentionDays: read(s.logRetentionDays) ?? DEFAULTS.logRetentionDays,
    keepImages: read(s.keepImages) ?? DEFAULTS.keepImages,
    forceDestroyBuckets: read(s.forceDestroyBuckets) ?? DEFAULTS.forceDestroyBuckets,
    githubRepository: read(s.githubRepository),
    githubOidcProviderArn: read(s.githubOidcProviderArn),
    imageTag: read(s.imageTag),
    notificationPrefix: read(s.notificationPrefix) ?? DEFAULTS.notificationPrefix,
    notificationSuffix: read(s.notificationSuffix) ?? DEFAULTS.notificationSuffix,
    alarmEmail: read(s.alarmEmail),
    stateBucket: read(s.stateBucket),
    stateRegion: read(s.stateRegion),
    handlerEnvironment,
  };

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

  // The handler checks its settings together at cold start; checking them here too fails the
  // synth instead of the deployed function. The bucket names are placeholders.
  let destinationPrefixes: string[] = [];
  try {
    const handler = readHandlerConfig({
      ...handlerEnvironment,
      DEST_BUCKET: "example-thumbnails",
      SOURCE_BUCKET: "example-source",
      SOURCE_PREFIX: config.notificationPrefix,
    });
    destinationPrefixes = handler.renditions.map((r) => handler.destPrefix + r.prefix);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    const setting = STACK_HANDLER_SETTINGS.find((h) => h.lambdaEnv === error.setting);
    problems.push(setting ? `${setting.key} (${setting.env}): ${error.message}` : error.message);
  }

  if (problems.length > 0) {
    throw new ConfigError(`Invalid infrastructure configuration:\n  - ${problems.join("\n  - ")}`);
  }
  return { ...config, destinationPrefixes };
}

/**
 * THUMBNAILER_* variables that are no setting: a typo would otherwise deploy the default
 * silently. Each names the closest setting. The local service's variables and the one-run
 * switches are known too.
 */
function unknownVariables(env: NodeJS.ProcessEnv): string[] {
  const known = [
    ...Object.values(SETTINGS).map((setting) => setting.env),
    ...STACK_HANDLER_SETTINGS.map((setting) => setting.env),
    ...Object.values(SERVE_SETTINGS).map((setting) => setting.env),
    ...ONE_RUN_SWITCHES,
  ];
  return Object.keys(env)
    .filter((name) => name.startsWith(PREFIX) && !known.includes(name))
    .map((name) => {
      // Compared without the prefix they all share, so "THUMBNAILER_" is no evidence.
      const guess = closest(
        name.slice(PREFIX.length),
        known.map((k) => k.slice(PREFIX.length)),
      );
      return `${name} is not a setting${guess === undefined ? "" : `; did you mean ${PREFIX}${guess}?`}`;
    });
}
