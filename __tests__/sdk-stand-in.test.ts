/**
 * The child-process SDK stand-in (support/sdk-stand-in.js) answers as its scenario says, with the
 * SDK's own typed errors, records every call, and fails a call it has no answer for.
 */
import { spawnSync } from "node:child_process";
import { PROJECT_ROOT } from "./support/fake-tools";
import { sdkStandIn } from "./support/sdk-stand-in";

const PROGRAM = `
const { LambdaClient, GetFunctionCommand, ListFunctionsCommand, ResourceNotFoundException } = require("@aws-sdk/client-lambda");
const client = new LambdaClient({ region: "eu-west-1" });
(async () => {
  for (const FunctionName of ["ours", "ours", "missing", "other"]) {
    try {
      const out = await client.send(new GetFunctionCommand({ FunctionName }));
      console.log(FunctionName, "found", out.Code.ImageUri);
    } catch (error) {
      console.log(FunctionName, error.name, error instanceof ResourceNotFoundException);
    }
  }
  await client.send(new ListFunctionsCommand({})).catch((error) => console.log("list", error.message));
})();
`;

test("answers by input, throws the SDK's typed errors, records calls, refuses unanswered ones", () => {
  const sdk = sdkStandIn({
    "Lambda.GetFunction": [
      { when: { FunctionName: "ours" }, output: { Code: { ImageUri: "repo@sha256:1" } } },
      { when: { FunctionName: "missing" }, error: "ResourceNotFoundException" },
      // A catch-all never answers an input a `when` answer matches, not even the second time.
      { error: "AccessDeniedException" },
    ],
  });
  try {
    const run = spawnSync("node", ["-e", PROGRAM], {
      cwd: PROJECT_ROOT,
      env: { PATH: process.env.PATH, ...sdk.env },
      encoding: "utf8",
    });
    expect(run.stdout.trim().split("\n")).toEqual([
      "ours found repo@sha256:1",
      "ours found repo@sha256:1",
      "missing ResourceNotFoundException true",
      "other AccessDeniedException false",
      "list sdk-stand-in: no answer for Lambda.ListFunctions {}",
    ]);
    expect(sdk.commands()).toEqual([
      ...Array(4).fill("Lambda.GetFunction"),
      "Lambda.ListFunctions",
    ]);
    expect(sdk.commands("node")).toHaveLength(5); // the calling program: node -e
    expect(sdk.commands("preflight")).toEqual([]);
    expect(sdk.calls()[2]).toEqual({
      service: "Lambda",
      command: "GetFunction",
      input: { FunctionName: "missing" },
    });
  } finally {
    sdk.cleanup();
  }
});
