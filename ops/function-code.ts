/**
 * The image a deployment's function runs, and pointing it at another: what a local rollout
 * (scripts/build-and-roll-out.sh), the deploy workflow (.github/workflows/deploy.yml) and
 * `npm run rollback` (ops/rollback.ts) share.
 *
 *   node dist/ops/function-code.js running --function-name F --region R [--with-architecture]
 *       prints the image F runs (URL@sha256:...), or nothing when F does not exist; with
 *       --with-architecture, its architecture, a tab, then the image
 *   node dist/ops/function-code.js point --function-name F --region R --image URI
 *       --architecture x86_64|arm64 [--previous IMAGE]
 *       points F at URI with the architecture and waits until the update is done; with
 *       --previous, only if F still runs IMAGE ("" : F must not exist yet, and nothing is
 *       updated: the deploy creates it). Prints "updated", or "absent" for a function not there.
 */
import {
  type Architecture,
  GetFunctionCommand,
  LambdaClient,
  UpdateFunctionCodeCommand,
  waitUntilFunctionUpdatedV2,
} from "@aws-sdk/client-lambda";
import { clientConfig, describeError, unlessAbsent } from "./aws";
import { type Log, toStderr } from "./image-tags";
import { parseOptions, runTool, UsageError } from "./run-tool";

/** The function changed since it was read: nothing was updated. */
export class FunctionChangedError extends Error {
  override readonly name = "FunctionChangedError";
}

/** What the function runs now, or undefined when it does not exist. */
export interface Running {
  readonly image: string;
  readonly architecture: string;
  readonly revisionId?: string;
}

export async function readRunning(
  lambda: LambdaClient,
  functionName: string,
): Promise<Running | undefined> {
  const fn = await unlessAbsent(() =>
    lambda.send(new GetFunctionCommand({ FunctionName: functionName })),
  );
  if (fn === undefined) return undefined;
  return {
    image: fn.Code?.ResolvedImageUri ?? "",
    architecture: fn.Configuration?.Architectures?.[0] ?? "x86_64",
    revisionId: fn.Configuration?.RevisionId,
  };
}

export interface CodeChange {
  readonly functionName: string;
  /** URL@sha256:... */
  readonly image: string;
  readonly architecture: string;
  /** The revision read: the update is refused if the function changed since (e.g. CI deployed). */
  readonly revisionId?: string;
  /** Longest wait for the update, in seconds (default 300). */
  readonly maxWaitSeconds?: number;
}

/**
 * UpdateFunctionCode with the image and architecture, if the function is still at `revisionId`;
 * then waits until the update is done. A function changed meanwhile is a FunctionChangedError.
 */
export async function updateCode(
  lambda: LambdaClient,
  change: CodeChange,
  log: Log,
): Promise<void> {
  const { functionName } = change;
  log(`updating ${functionName} to ${change.image} (${change.architecture})`);
  try {
    await lambda.send(
      new UpdateFunctionCodeCommand({
        FunctionName: functionName,
        ImageUri: change.image,
        Architectures: [change.architecture as Architecture],
        RevisionId: change.revisionId,
      }),
    );
  } catch (error) {
    if (error instanceof Error && error.name === "PreconditionFailedException") {
      throw new FunctionChangedError(`${functionName} changed since it was read`);
    }
    throw error;
  }
  log("waiting for the update (lambda:GetFunction until it is done)");
  try {
    await waitUntilFunctionUpdatedV2(
      { client: lambda, maxWaitTime: change.maxWaitSeconds ?? 300, minDelay: 2 },
      { FunctionName: functionName },
    );
  } catch (error) {
    throw new Error(
      `the update of ${functionName} to ${change.image} did not finish (${describeError(error)})`,
    );
  }
}

/**
 * Points the function at `change.image`, expecting it still runs `previous` ("": expecting no
 * function, which is then left for the deploy to create). Returns whether it updated.
 */
export async function pointFunction(
  lambda: LambdaClient,
  change: Omit<CodeChange, "revisionId">,
  previous: string | undefined,
  log: Log,
): Promise<"updated" | "absent"> {
  const now = await readRunning(lambda, change.functionName);
  if (previous !== undefined && (now?.image ?? "") !== previous) {
    throw new FunctionChangedError(
      `${change.functionName} changed while the image was built (from '${previous}' to '${now?.image ?? ""}'): nothing rolled out; deploy again to check against what it runs now`,
    );
  }
  if (now === undefined) {
    log(`${change.functionName} does not exist`);
    return "absent";
  }
  try {
    await updateCode(lambda, { ...change, revisionId: now.revisionId }, log);
  } catch (error) {
    if (error instanceof FunctionChangedError && previous !== undefined) {
      throw new FunctionChangedError(
        `${change.functionName} changed while the image was built: nothing rolled out; deploy again to check against what it runs now`,
      );
    }
    throw error;
  }
  return "updated";
}

const USAGE = `Usage: function-code.js running --function-name F --region R [--with-architecture]
       function-code.js point --function-name F --region R --image URI --architecture A [--previous IMAGE]
`;

async function main([command, ...args]: string[]): Promise<number> {
  const values = parseOptions(args, {
    "function-name": { type: "string" },
    region: { type: "string" },
    "with-architecture": { type: "boolean" },
    image: { type: "string" },
    architecture: { type: "string" },
    previous: { type: "string" },
  });
  const functionName = values["function-name"];
  if (functionName === undefined || functionName === "") {
    throw new UsageError("--function-name is required");
  }
  if (values.region === undefined || values.region === "") {
    throw new UsageError("--region is required");
  }
  const lambda = new LambdaClient(clientConfig({ region: values.region }));
  if (command === "running") {
    const now = await readRunning(lambda, functionName);
    if (now !== undefined) {
      const line = values["with-architecture"] ? `${now.architecture}\t${now.image}` : now.image;
      process.stdout.write(`${line}\n`);
    }
    return 0;
  }
  if (command !== "point") throw new UsageError(`unknown command '${command ?? ""}'`);
  const { image, architecture } = values;
  if (image === undefined || architecture === undefined) {
    throw new UsageError("point needs --image and --architecture");
  }
  const change = { functionName, image, architecture };
  process.stdout.write(`${await pointFunction(lambda, change, values.previous, toStderr)}\n`);
  return 0;
}

if (require.main === module) runTool(main, USAGE);
