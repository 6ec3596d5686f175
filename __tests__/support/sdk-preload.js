/**
 * The AWS SDK, faked at the SDK level in a child process: `node --require` this file (NODE_OPTIONS,
 * see sdk-stand-in.ts) and every client of the packages below answers from the scenario in the
 * JSON file $SDK_STAND_IN instead of AWS, through aws-sdk-client-mock. The ops tools a script
 * runs build real commands from the SDK's own types; only the answers are made up.
 *
 * Scenario: { "calls": FILE, "answers": { "Lambda.GetFunction": ANSWER | [ANSWER, ...] } } where
 * ANSWER is { "output": {...} } (a string "Body" is returned as the SDK's stream) or { "error": "ResourceNotFoundException", "message"?, "status"? },
 * optionally with "when": {...} (matches when every field equals the input's; answers whose
 * "when" matches win over those without one). A list is used in order, its last answer repeating;
 * a command with no answer fails the call loudly. Every call is appended to FILE as one JSON line
 * {tool, service, command, input}, tool naming the program that called (dist/ops/NAME.js: NAME).
 */
const { appendFileSync, readFileSync } = require("node:fs");
const { basename } = require("node:path");
const { Readable } = require("node:stream");
const Module = require("node:module");
const { isDeepStrictEqual } = require("node:util");

/** Package -> the client class name and the service name scenarios use. */
const PACKAGES = {
  "@aws-sdk/client-cloudwatch": ["CloudWatchClient", "CloudWatch"],
  "@aws-sdk/client-cloudwatch-logs": ["CloudWatchLogsClient", "CloudWatchLogs"],
  "@aws-sdk/client-ecr": ["ECRClient", "ECR"],
  "@aws-sdk/client-iam": ["IAMClient", "IAM"],
  "@aws-sdk/client-lambda": ["LambdaClient", "Lambda"],
  "@aws-sdk/client-s3": ["S3Client", "S3"],
  "@aws-sdk/client-s3-control": ["S3ControlClient", "S3Control"],
  "@aws-sdk/client-sqs": ["SQSClient", "SQS"],
  "@aws-sdk/client-sts": ["STSClient", "STS"],
};

const scenario = JSON.parse(readFileSync(process.env.SDK_STAND_IN, "utf8"));
/** The program that calls, e.g. "preflight" for dist/ops/preflight.js ("node" for node -e). */
const tool = process.argv[1] === undefined ? "node" : basename(process.argv[1], ".js");
const used = new Map();

function matches(answer, input) {
  return Object.entries(answer.when ?? {}).every(([k, v]) => isDeepStrictEqual(input?.[k], v));
}

/** The answers for `input`: those whose `when` matches it, else those without a `when`. */
function answerFor(key, input) {
  const listed = scenario.answers?.[key];
  const list = Array.isArray(listed) ? listed : listed === undefined ? [] : [listed];
  const specific = list.filter((a) => a.when !== undefined && matches(a, input));
  const all = specific.length > 0 ? specific : list.filter((a) => a.when === undefined);
  if (all.length === 0) return undefined;
  const seen = `${key}${JSON.stringify(input)}`;
  const n = used.get(seen) ?? 0;
  used.set(seen, n + 1);
  return all[Math.min(n, all.length - 1)];
}

function errorFrom(pkg, answer) {
  const Class = pkg[answer.error];
  const options = {
    message: answer.message ?? answer.error,
    $metadata: { httpStatusCode: answer.status ?? 400 },
  };
  const error =
    typeof Class === "function" && Class.prototype instanceof Error
      ? new Class(options)
      : Object.assign(new Error(options.message), options);
  error.name = answer.error;
  return error;
}

/** An output's string Body (S3 GetObject) as the SDK returns it: a stream with transformToString. */
function withBody(output) {
  if (typeof output.Body !== "string") return output;
  const text = output.Body;
  const body = Object.assign(Readable.from([Buffer.from(text)]), {
    transformToString: async () => text,
    transformToByteArray: async () => new Uint8Array(Buffer.from(text)),
  });
  return { ...output, Body: body };
}

/** Answers every command of the client in `pkg` (the package `name`) from the scenario. */
function standIn(name, pkg) {
  const [clientName, service] = PACKAGES[name];
  const { mockClient } = require("aws-sdk-client-mock");
  const mock = mockClient(pkg[clientName]);
  for (const [exported, Command] of Object.entries(pkg)) {
    if (!exported.endsWith("Command") || typeof Command !== "function") continue;
    const command = exported.slice(0, -"Command".length);
    const key = `${service}.${command}`;
    mock.on(Command).callsFake(async (input) => {
      appendFileSync(scenario.calls, `${JSON.stringify({ tool, service, command, input })}\n`);
      const answer = answerFor(key, input);
      if (answer === undefined)
        throw new Error(`sdk-stand-in: no answer for ${key} ${JSON.stringify(input)}`);
      if (answer.error !== undefined) throw errorFrom(pkg, answer);
      return withBody(answer.output ?? {});
    });
  }
}

// Each package is stood in when the process first loads it: a process that never uses the SDK
// (most node calls a script makes) pays nothing for the stand-in.
const mocked = new Set();
const load = Module._load;
Module._load = function loadStandingIn(request, ...rest) {
  const exports = load.call(this, request, ...rest);
  if (Object.hasOwn(PACKAGES, request) && !mocked.has(request)) {
    mocked.add(request);
    standIn(request, exports);
  }
  return exports;
};
