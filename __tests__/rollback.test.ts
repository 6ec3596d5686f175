/**
 * `npm run rollback` (ops/rollback.ts) against the AWS SDK's Lambda and ECR clients mocked at the
 * SDK level (aws-sdk-client-mock): a small ECR with immutable tags and each image's architecture
 * in its config blob, and a function whose update goes InProgress, then Successful. What a
 * rollback changes is read back from that state and from the requests made. No request reaches AWS.
 */
import {
  BatchDeleteImageCommand,
  BatchGetImageCommand,
  DescribeImagesCommand,
  DescribeRepositoriesCommand,
  ECRClient,
  GetDownloadUrlForLayerCommand,
  PutImageCommand,
} from "@aws-sdk/client-ecr";
import {
  GetFunctionCommand,
  LambdaClient,
  PreconditionFailedException,
  UpdateFunctionCodeCommand,
} from "@aws-sdk/client-lambda";
import { mockClient } from "aws-sdk-client-mock";
import {
  type RollbackContext,
  type RollbackOptions,
  RollbackRefusedError,
  rollback,
} from "../ops/rollback";

const ACCOUNT = "123456789012";
const REPO = `${ACCOUNT}.dkr.ecr.eu-west-1.amazonaws.com/thumbs`;
const digest = (c: string) => `sha256:${c.repeat(64)}`;
const [PREVIOUS, RUNNING, OTHER, ARM] = [digest("a"), digest("b"), digest("c"), digest("d")];
const SHA = "0123456789abcdef0123456789abcdef01234567";

const lambda = mockClient(LambdaClient);
const ecr = mockClient(ECRClient);

interface World {
  /** tag -> digest, as ECR holds them now. */
  readonly tags: Map<string, string>;
  /** What happened, in order: "update <uri>", "smoke", "untag <tag>", "put <tag> <digest>". */
  readonly events: string[];
  /** The image the function runs. */
  image: string;
}

/**
 * ECR holding `images` (digest -> tags; every image amd64 but ARM), a function of `architecture`
 * running RUNNING whose update is InProgress once, then Successful.
 */
function world(images: Record<string, string[]>, architecture = "x86_64"): World {
  const w: World = { tags: new Map(), events: [], image: `${REPO}@${RUNNING}` };
  for (const [d, tags] of Object.entries(images)) for (const t of tags) w.tags.set(t, d);
  let updating = false;
  lambda.on(GetFunctionCommand, { FunctionName: "thumbs" }).callsFake(async () => {
    const status = updating ? "InProgress" : "Successful";
    updating = false;
    return {
      Configuration: {
        FunctionName: "thumbs",
        Architectures: [architecture],
        RevisionId: "rev-1",
        LastUpdateStatus: status,
      },
      Code: { ResolvedImageUri: w.image },
    };
  });
  lambda.on(UpdateFunctionCodeCommand).callsFake(async (input) => {
    w.events.push(`update ${input.ImageUri}`);
    w.image = input.ImageUri;
    updating = true;
    return { LastUpdateStatus: "InProgress" };
  });
  ecr
    .on(DescribeRepositoriesCommand, { repositoryNames: ["thumbs"] })
    .resolves({ repositories: [{ repositoryUri: REPO, registryId: ACCOUNT }] });
  ecr.on(DescribeImagesCommand).callsFake(async (input) => {
    const id = input.imageIds?.[0] ?? {};
    const found = id.imageTag !== undefined ? w.tags.get(id.imageTag) : id.imageDigest;
    if (found === undefined || !(found in images)) {
      throw Object.assign(new Error("not found"), { name: "ImageNotFoundException" });
    }
    const tags = [...w.tags].filter(([, d]) => d === found).map(([t]) => t);
    return { imageDetails: [{ imageDigest: found, imageTags: tags }] };
  });
  ecr.on(BatchGetImageCommand).callsFake(async (input) => ({
    images: [
      {
        imageManifest: JSON.stringify({
          schemaVersion: 2,
          config: { digest: `cfg-${input.imageIds?.[0]?.imageDigest}` },
        }),
        imageManifestMediaType: "application/vnd.oci.image.manifest.v1+json",
      },
    ],
  }));
  ecr.on(GetDownloadUrlForLayerCommand).callsFake(async ({ layerDigest }) => {
    const config = { architecture: layerDigest === `cfg-${ARM}` ? "arm64" : "amd64", os: "linux" };
    return { downloadUrl: `data:application/json,${encodeURIComponent(JSON.stringify(config))}` };
  });
  ecr.on(BatchDeleteImageCommand).callsFake(async (input) => {
    const tag = input.imageIds?.[0]?.imageTag ?? "";
    w.events.push(`untag ${tag}`);
    w.tags.delete(tag);
    return { failures: [] };
  });
  ecr.on(PutImageCommand).callsFake(async ({ imageTag, imageDigest }) => {
    if (w.tags.has(imageTag))
      throw Object.assign(new Error(imageTag), { name: "ImageTagAlreadyExistsException" });
    w.events.push(`put ${imageTag} ${imageDigest}`);
    w.tags.set(imageTag, imageDigest);
    return {};
  });
  return w;
}

interface Run {
  readonly code: number;
  readonly said: string[];
  readonly smokeTests: string[];
}

async function run(
  w: World,
  options: RollbackOptions,
  overrides: Partial<RollbackContext> & { smokePasses?: boolean } = {},
): Promise<Run> {
  const said: string[] = [];
  const smokeTests: string[] = [];
  const ctx: RollbackContext = {
    lambda: new LambdaClient({ region: "eu-west-1" }),
    ecr: new ECRClient({ region: "eu-west-1" }),
    target: { functionName: "thumbs", repositoryName: "thumbs", region: "eu-west-1" },
    smokeTest: async (functionName, region) => {
      w.events.push("smoke");
      smokeTests.push(`${functionName} ${region}`);
      return overrides.smokePasses ?? true;
    },
    confirm: async () => true,
    log: () => {},
    say: (line) => said.push(line),
    ...overrides,
  };
  const code = await rollback(ctx, options);
  return { code, said, smokeTests };
}

const updates = () => lambda.commandCalls(UpdateFunctionCodeCommand).map((c) => c.args[0].input);

beforeEach(() => {
  lambda.reset();
  ecr.reset();
});

describe("rollback --to previous", () => {
  it("updates the function to the previous image, waits, smoke-tests, then moves deployed and previous", async () => {
    // Arrange: RUNNING is deployed (the bad image); PREVIOUS ran before it
    const w = world({ [PREVIOUS]: ["v1", "previous"], [RUNNING]: ["v2", "deployed"] });

    // Act
    const result = await run(w, { to: "previous", yes: true });

    // Assert: one update, to that digest with the function's architecture, guarded by revision
    expect(result.code).toBe(0);
    expect(updates()).toEqual([
      {
        FunctionName: "thumbs",
        ImageUri: `${REPO}@${PREVIOUS}`,
        Architectures: ["x86_64"],
        RevisionId: "rev-1",
      },
    ]);
    // It waited: the update was InProgress once, polled again until Successful.
    const polls = lambda.commandCalls(GetFunctionCommand).length;
    expect(polls).toBeGreaterThanOrEqual(3); // the read, the InProgress poll, the Successful one
    expect(result.smokeTests).toEqual(["thumbs eu-west-1"]);
    // Smoke test after the update, tags after the smoke test, `previous` first.
    expect(w.events).toEqual([
      `update ${REPO}@${PREVIOUS}`,
      "smoke",
      "untag previous",
      `put previous ${RUNNING}`,
      "untag deployed",
      `put deployed ${PREVIOUS}`,
    ]);
    expect(Object.fromEntries(w.tags)).toEqual({
      v1: PREVIOUS,
      v2: RUNNING,
      deployed: PREVIOUS,
      previous: RUNNING,
    });
    expect(result.said.at(-1)).toBe(
      `thumbs now runs ${REPO}@${PREVIOUS} and passed the smoke test`,
    );
  });

  it("a second rollback --to previous undoes the first", async () => {
    const w = world({ [PREVIOUS]: ["v1", "previous"], [RUNNING]: ["v2", "deployed"] });

    await run(w, { to: "previous", yes: true });
    const again = await run(w, { to: "previous", yes: true });

    expect(again.code).toBe(0);
    expect(w.image).toBe(`${REPO}@${RUNNING}`);
    expect(w.tags.get("deployed")).toBe(RUNNING);
    expect(w.tags.get("previous")).toBe(PREVIOUS);
  });

  it("when the smoke test fails: exits 1, moves no tag, says what runs and how to return", async () => {
    const w = world({ [PREVIOUS]: ["v1", "previous"], [RUNNING]: ["v2", "deployed"] });

    const result = await run(w, { to: "previous", yes: true }, { smokePasses: false });

    expect(result.code).toBe(1);
    expect(w.events).toEqual([`update ${REPO}@${PREVIOUS}`, "smoke"]);
    expect(Object.fromEntries(w.tags)).toEqual({
      v1: PREVIOUS,
      previous: PREVIOUS,
      v2: RUNNING,
      deployed: RUNNING,
    });
    const said = result.said.join("\n");
    expect(said).toContain("the smoke test failed");
    expect(said).toContain(`thumbs now runs ${REPO}@${PREVIOUS}`);
    expect(said).toContain(`npm run rollback -- --to ${RUNNING}`);
  });

  it("refuses when no image is tagged previous, changing nothing", async () => {
    const w = world({ [RUNNING]: ["v2", "deployed"] });

    await expect(run(w, { to: "previous", yes: true })).rejects.toThrow(
      `${REPO} has no image previous`,
    );
    expect(w.events).toEqual([]);
  });
});

describe("rollback target resolution", () => {
  it("by digest, alone or as the repository's image URI", async () => {
    for (const to of [OTHER, `${REPO}@${OTHER}`]) {
      lambda.reset();
      ecr.reset();
      const w = world({ [OTHER]: ["v0"], [RUNNING]: ["v2", "deployed"] });

      const result = await run(w, { to, yes: true });

      expect(result.code).toBe(0);
      expect(updates().map((u) => u.ImageUri)).toEqual([`${REPO}@${OTHER}`]);
      expect(w.tags.get("deployed")).toBe(OTHER);
      expect(w.tags.get("previous")).toBe(RUNNING);
    }
  });

  it("by commit: the commit tag a local deploy records for the function's architecture", async () => {
    const w = world({
      [OTHER]: ["v0", `commit-amd64-${SHA}`],
      [ARM]: [`commit-arm64-${SHA}`],
      [RUNNING]: ["deployed"],
    });

    await run(w, { to: SHA, yes: true });

    expect(updates().map((u) => u.ImageUri)).toEqual([`${REPO}@${OTHER}`]);
  });

  it("by commit: the deploy workflow's SHA tag when no local deploy recorded it", async () => {
    const w = world({ [OTHER]: [SHA], [RUNNING]: ["deployed"] });

    await run(w, { to: SHA, yes: true });

    expect(updates().map((u) => u.ImageUri)).toEqual([`${REPO}@${OTHER}`]);
  });

  it("says which tags it looked for when no image holds the commit", async () => {
    const w = world({ [RUNNING]: ["deployed"] });

    await expect(run(w, { to: SHA, yes: true })).rejects.toThrow(
      `${REPO} has no image ${SHA} (tags commit-amd64-${SHA} or ${SHA})`,
    );
    expect(updates()).toEqual([]);
  });

  it("refuses an image of another repository before any change", async () => {
    const w = world({ [OTHER]: ["v0"], [RUNNING]: ["deployed"] });
    const foreign = `${ACCOUNT}.dkr.ecr.eu-west-1.amazonaws.com/other@${OTHER}`;

    const attempt = run(w, { to: foreign, yes: true });

    await expect(attempt).rejects.toThrow(RollbackRefusedError);
    await expect(attempt).rejects.toThrow(`not in this deployment's repository ${REPO}`);
    expect(updates()).toEqual([]);
    expect(w.events).toEqual([]);
  });

  it("refuses a digest the repository does not hold", async () => {
    const w = world({ [RUNNING]: ["deployed"] });

    await expect(run(w, { to: OTHER, yes: true })).rejects.toThrow(`${REPO} has no image ${OTHER}`);
    expect(updates()).toEqual([]);
  });

  it("refuses an image built for another architecture than the function's", async () => {
    // Arrange: the deploy workflow's image of SHA was built for arm64; the function is x86_64
    const w = world({ [ARM]: [SHA], [RUNNING]: ["deployed"] });

    const attempt = run(w, { to: SHA, yes: true });

    await expect(attempt).rejects.toThrow(
      `${REPO}@${ARM} is built for arm64, but thumbs runs on x86_64`,
    );
    expect(updates()).toEqual([]);
  });

  it("refuses what names no image", async () => {
    const w = world({ [RUNNING]: ["deployed"] });

    await expect(run(w, { to: "v1", yes: true })).rejects.toThrow("--to 'v1' names no image");
  });
});

describe("rollback safeguards", () => {
  it("--dry-run says what it would do and changes nothing", async () => {
    const w = world({ [PREVIOUS]: ["previous"], [RUNNING]: ["deployed"] });
    const logged: string[] = [];

    const result = await run(w, { to: "previous", dryRun: true }, { log: (l) => logged.push(l) });

    expect(result.code).toBe(0);
    expect(w.events).toEqual([]);
    expect(logged.join("\n")).toContain(`roll back to ${REPO}@${PREVIOUS} (tagged previous`);
    expect(logged.join("\n")).toContain("would update thumbs");
  });

  it("asks first without --yes, and a no changes nothing", async () => {
    const w = world({ [PREVIOUS]: ["previous"], [RUNNING]: ["deployed"] });
    const asked: string[] = [];

    const result = await run(
      w,
      { to: "previous" },
      {
        confirm: async (q) => {
          asked.push(q);
          return false;
        },
      },
    );

    expect(asked).toEqual([`Roll thumbs back to ${REPO}@${PREVIOUS}?`]);
    expect(result.code).toBe(1);
    expect(w.events).toEqual([]);
  });

  it("does nothing when the function already runs the target", async () => {
    const w = world({ [RUNNING]: ["deployed", "v2"] });

    const result = await run(w, { to: RUNNING, yes: true });

    expect(result.code).toBe(0);
    expect(result.said).toEqual([`thumbs already runs ${REPO}@${RUNNING}: nothing to roll back`]);
    expect(w.events).toEqual([]);
  });

  it("stops, with no smoke test and no tag moved, when the function changed since it was read", async () => {
    const w = world({ [PREVIOUS]: ["previous"], [RUNNING]: ["deployed"] });
    lambda
      .on(UpdateFunctionCodeCommand)
      .rejects(new PreconditionFailedException({ message: "revision", $metadata: {} }));

    await expect(run(w, { to: "previous", yes: true })).rejects.toThrow(
      "thumbs changed while the rollback was prepared",
    );
    expect(w.events).toEqual([]);
  });
});
