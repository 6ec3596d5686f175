import { ConfigError } from "../handler/errors";
import { type InfraConfig, readInfraConfig } from "../stacks/config";

/** Reads a configuration from a plain context object and environment. */
function read(context: Record<string, unknown> = {}, env: NodeJS.ProcessEnv = {}): InfraConfig {
  return readInfraConfig({ context: (key) => context[key], env });
}

/** The ConfigError message readInfraConfig throws, or fails the test if it does not throw. */
function problem(context: Record<string, unknown>, env: NodeJS.ProcessEnv = {}): string {
  try {
    read(context, env);
  } catch (error) {
    if (error instanceof ConfigError) return error.message;
    throw error;
  }
  throw new Error("expected a ConfigError");
}

describe("readInfraConfig", () => {
  it("uses safe defaults when nothing is set", () => {
    // Act
    const config = read();

    // Assert
    expect(config).toEqual({
      region: "us-east-1",
      name: "thumbnailer",
      architecture: "x86_64",
      memoryMb: 1536,
      timeoutSeconds: 60,
      retryAttempts: 2,
      maxEventAgeSeconds: 21600,
      logRetentionDays: 30,
      keepImages: 10,
      forceDestroyBuckets: false,
      notificationPrefix: "",
      notificationSuffix: "",
      reservedConcurrency: undefined,
      githubRepository: undefined,
      githubOidcProviderArn: undefined,
      imageTag: undefined,
      alarmEmail: undefined,
      stateBucket: undefined,
      stateRegion: undefined,
      handlerEnvironment: {},
      destinationPrefixes: [""],
      destinationPrefix: "",
    });
  });

  it("reads cdktf.json context values, numbers and booleans included", () => {
    const config = read({
      region: "eu-west-1",
      name: "thumbs-prod",
      architecture: "arm64",
      memoryMb: 2048,
      reservedConcurrency: 5,
      forceDestroyBuckets: true,
      githubRepository: "acme/thumbnailer",
      notificationPrefix: "uploads/",
      thumbWidth: 128,
      thumbFormat: "webp",
    });

    expect(config).toMatchObject({
      region: "eu-west-1",
      name: "thumbs-prod",
      architecture: "arm64",
      memoryMb: 2048,
      reservedConcurrency: 5,
      forceDestroyBuckets: true,
      githubRepository: "acme/thumbnailer",
      notificationPrefix: "uploads/",
      handlerEnvironment: { THUMB_WIDTH: "128", THUMB_FORMAT: "webp" },
    });
  });

  it("lets an environment variable win over the context, and ignores empty ones", () => {
    const config = read(
      { region: "eu-west-1", memoryMb: 2048, name: "from-context" },
      { THUMBNAILER_REGION: "ap-southeast-2", THUMBNAILER_MEMORY_MB: "3008", THUMBNAILER_NAME: "" },
    );

    expect(config.region).toBe("ap-southeast-2");
    expect(config.memoryMb).toBe(3008);
    expect(config.name).toBe("from-context");
  });

  it("maps handler settings to the Lambda's environment variable names", () => {
    const config = read(
      {},
      {
        THUMBNAILER_DEST_PREFIX: "thumbs/",
        THUMBNAILER_THUMB_HEIGHT: "300",
        THUMBNAILER_THUMB_FIT: "cover",
        THUMBNAILER_THUMB_QUALITY: "70",
        THUMBNAILER_THUMB_BACKGROUND: "#000000",
        THUMBNAILER_MAX_INPUT_BYTES: "1000000",
        THUMBNAILER_MAX_INPUT_PIXELS: "5000000",
        THUMBNAILER_CONCURRENCY: "8",
        THUMBNAILER_CACHE_CONTROL: "max-age=60",
      },
    );

    expect(config.handlerEnvironment).toEqual({
      DEST_PREFIX: "thumbs/",
      THUMB_HEIGHT: "300",
      THUMB_FIT: "cover",
      THUMB_QUALITY: "70",
      THUMB_BACKGROUND: "#000000",
      MAX_INPUT_BYTES: "1000000",
      MAX_INPUT_PIXELS: "5000000",
      CONCURRENCY: "8",
      CACHE_CONTROL: "max-age=60",
    });
  });

  // Each bad setting: its message names the setting, its variable and what is accepted.
  it.each<[string, Record<string, unknown>, NodeJS.ProcessEnv, string]>([
    [
      "region",
      { region: "Europe" },
      {},
      'region (THUMBNAILER_REGION): "Europe" is not accepted; expected an AWS region such as eu-west-1',
    ],
    [
      "name (uppercase)",
      {},
      { THUMBNAILER_NAME: "Thumbs" },
      'name (THUMBNAILER_NAME): "Thumbs" is not accepted; expected 3-20 characters: lowercase letters, digits and hyphens, starting with a letter',
    ],
    [
      "name (too long for bucket names)",
      { name: "a-very-long-deployment-name" },
      {},
      "name (THUMBNAILER_NAME)",
    ],
    [
      "architecture",
      { architecture: "aarch64" },
      {},
      'architecture (THUMBNAILER_ARCHITECTURE): "aarch64" is not accepted; expected one of x86_64, arm64',
    ],
    [
      "memoryMb (too small)",
      { memoryMb: 64 },
      {},
      "memoryMb (THUMBNAILER_MEMORY_MB): 64 is not accepted; expected an integer from 128 to 10240",
    ],
    [
      "memoryMb (not a number)",
      {},
      { THUMBNAILER_MEMORY_MB: "lots" },
      'memoryMb (THUMBNAILER_MEMORY_MB): "lots" is not accepted; expected an integer from 128 to 10240',
    ],
    [
      "timeoutSeconds",
      { timeoutSeconds: 901 },
      {},
      "timeoutSeconds (THUMBNAILER_TIMEOUT_SECONDS): 901 is not accepted; expected an integer from 1 to 900",
    ],
    [
      "reservedConcurrency",
      { reservedConcurrency: 0 },
      {},
      "reservedConcurrency (THUMBNAILER_RESERVED_CONCURRENCY): 0 is not accepted; expected an integer of at least 1 (unset = unreserved)",
    ],
    [
      "retryAttempts",
      { retryAttempts: 3 },
      {},
      "retryAttempts (THUMBNAILER_RETRY_ATTEMPTS): 3 is not accepted; expected an integer from 0 to 2",
    ],
    [
      "maxEventAgeSeconds",
      { maxEventAgeSeconds: 30 },
      {},
      "maxEventAgeSeconds (THUMBNAILER_MAX_EVENT_AGE_SECONDS): 30 is not accepted; expected an integer from 60 to 21600",
    ],
    [
      "maxEventAgeSeconds shorter than the timeout",
      { maxEventAgeSeconds: 120, timeoutSeconds: 300 },
      {},
      "maxEventAgeSeconds (THUMBNAILER_MAX_EVENT_AGE_SECONDS) 120 is shorter than timeoutSeconds 300; expected at least the timeout",
    ],
    [
      "logRetentionDays",
      { logRetentionDays: 10 },
      {},
      "logRetentionDays (THUMBNAILER_LOG_RETENTION_DAYS): 10 is not accepted; expected one of 1, 3, 5, 7, 14, 30,",
    ],
    [
      "keepImages",
      { keepImages: 0 },
      {},
      "keepImages (THUMBNAILER_KEEP_IMAGES): 0 is not accepted; expected an integer from 1 to 1000",
    ],
    [
      "forceDestroyBuckets",
      {},
      { THUMBNAILER_FORCE_DESTROY_BUCKETS: "yes" },
      'forceDestroyBuckets (THUMBNAILER_FORCE_DESTROY_BUCKETS): "yes" is not accepted; expected true or false',
    ],
    [
      "githubRepository",
      { githubRepository: "https://github.com/acme/x" },
      {},
      'githubRepository (THUMBNAILER_GITHUB_REPOSITORY): "https://github.com/acme/x" is not accepted; expected owner/name of a GitHub repository',
    ],
    [
      "githubOidcProviderArn",
      {
        githubRepository: "acme/x",
        githubOidcProviderArn: "arn:aws:iam::123:oidc-provider/example.com",
      },
      {},
      "githubOidcProviderArn (THUMBNAILER_GITHUB_OIDC_PROVIDER_ARN)",
    ],
    [
      "githubOidcProviderArn without a repository",
      {
        githubOidcProviderArn:
          "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com",
      },
      {},
      "githubOidcProviderArn (THUMBNAILER_GITHUB_OIDC_PROVIDER_ARN) is set but githubRepository (THUMBNAILER_GITHUB_REPOSITORY) is not",
    ],
    [
      "imageTag",
      { imageTag: "bad tag" },
      {},
      'imageTag (THUMBNAILER_IMAGE_TAG): "bad tag" is not accepted; expected a Docker tag',
    ],
    [
      "alarmEmail",
      { alarmEmail: "ops" },
      {},
      'alarmEmail (THUMBNAILER_ALARM_EMAIL): "ops" is not accepted; expected an e-mail address',
    ],
    [
      "stateBucket",
      { stateBucket: "My_Bucket" },
      {},
      'stateBucket (THUMBNAILER_STATE_BUCKET): "My_Bucket" is not accepted; expected an S3 bucket name',
    ],
    [
      "stateRegion without a state bucket",
      { stateRegion: "eu-west-1" },
      {},
      "stateRegion (THUMBNAILER_STATE_REGION) is set but stateBucket (THUMBNAILER_STATE_BUCKET) is not",
    ],
    [
      "thumbWidth",
      {},
      { THUMBNAILER_THUMB_WIDTH: "0" },
      'thumbWidth (THUMBNAILER_THUMB_WIDTH): "0" is not accepted; expected an integer from 1 to 4096',
    ],
    [
      "thumbFit",
      { thumbFit: "stretch" },
      {},
      'thumbFit (THUMBNAILER_THUMB_FIT): "stretch" is not accepted; expected one of inside, cover',
    ],
    [
      "thumbFormat",
      { thumbFormat: "bmp" },
      {},
      'thumbFormat (THUMBNAILER_THUMB_FORMAT): "bmp" is not accepted; expected one of jpeg, webp, avif, png, gif',
    ],
    [
      "thumbQuality",
      { thumbQuality: 101 },
      {},
      "thumbQuality (THUMBNAILER_THUMB_QUALITY): 101 is not accepted; expected an integer from 1 to 100",
    ],
    [
      "thumbBackground",
      { thumbBackground: "white" },
      {},
      'thumbBackground (THUMBNAILER_THUMB_BACKGROUND): "white" is not accepted; expected a colour "#rrggbb"',
    ],
    [
      "maxInputBytes",
      { maxInputBytes: -1 },
      {},
      "maxInputBytes (THUMBNAILER_MAX_INPUT_BYTES): -1 is not accepted; expected a positive integer",
    ],
    [
      "concurrency",
      { concurrency: 1.5 },
      {},
      "concurrency (THUMBNAILER_CONCURRENCY): 1.5 is not accepted; expected an integer from 1 to 64",
    ],
  ])("rejects a bad %s with a message naming it", (_label, context, env, message) => {
    expect(problem(context, env)).toContain(message);
  });

  it("refuses an unknown THUMBNAILER_* variable, naming the closest setting", () => {
    expect(problem({}, { THUMBNAILER_MEMORY_SIZE: "99" })).toContain(
      "THUMBNAILER_MEMORY_SIZE is not a setting; did you mean THUMBNAILER_MEMORY_MB?",
    );
    expect(problem({}, { THUMBNAILER_THUMB_WIDHT: "99" })).toContain(
      "did you mean THUMBNAILER_THUMB_WIDTH?",
    );
  });

  it.each([
    ["THUMB_WIDHT", "THUMBNAILER_THUMB_WIDTH"],
    // The function's own name is no user's name: the deployment's is the one every command reads.
    ["THUMB_WIDTH", "THUMBNAILER_THUMB_WIDTH"],
    ["THUMBNAILER_PROT", "THUMBNAILER_PORT"],
  ])("refuses %s, naming %s", (name, suggestion) => {
    expect(problem({}, { [name]: "99" })).toContain(
      `${name} is not a setting; did you mean ${suggestion}?`,
    );
  });

  it("accepts the names serve, make and backfill read for the handler's settings", () => {
    const config = read(
      {},
      {
        THUMBNAILER_THUMB_WIDTH: "100",
        THUMBNAILER_DEST_BUCKET: "x",
        THUMBNAILER_LOG_LEVEL: "debug",
      },
    );

    expect(config.handlerEnvironment.THUMB_WIDTH).toBe("100");
  });

  it("accepts THUMBNAILER_ALLOW_ROLLBACK, the deploy's one-run switch, in the environment", () => {
    // Read by scripts/check-rollout.sh during `THUMBNAILER_ALLOW_ROLLBACK=1 npm run deploy`,
    // whose synth must not refuse it as a typo.
    expect(read({}, { THUMBNAILER_ALLOW_ROLLBACK: "1" }).memoryMb).toBe(1536);
  });

  it("accepts the local service's THUMBNAILER_* variables in the environment", () => {
    expect(read({}, { THUMBNAILER_PORT: "0", THUMBNAILER_DATA: "/tmp/x" }).memoryMb).toBe(1536);
  });

  it("lists every bad setting at once", () => {
    const message = problem({ memoryMb: 1, architecture: "mips" }, { THUMBNAILER_REGION: "mars" });

    expect(message).toMatch(/^Invalid infrastructure configuration:/);
    expect(message).toContain("region (THUMBNAILER_REGION)");
    expect(message).toContain("architecture (THUMBNAILER_ARCHITECTURE)");
    expect(message).toContain("memoryMb (THUMBNAILER_MEMORY_MB)");
  });
});
