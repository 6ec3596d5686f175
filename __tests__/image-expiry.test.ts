/**
 * ECR expiry never removes the image the function runs or the one a rollback needs: the rollout
 * tags them `deployed` and `previous` (scripts/tag-deployed.sh, run with the AWS SDK
 * stand-in answering ops/image-tags.ts), and the repository's lifecycle policy (synthesized JSON) protects those two tags
 * before it counts the rest.
 */

import { runScript } from "./support/fake-tools";
import { only, synthInfra } from "./support/infra";
import { type Answers, sdkStandIn } from "./support/sdk-stand-in";

const REPOSITORY = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/thumbs";
const digest = (c: string) => `sha256:${c.repeat(64)}`;
const [OLD, RUNNING, NEW] = [digest("a"), digest("b"), digest("c")];
const MANIFEST = '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json"}';

interface Rule {
  rulePriority: number;
  selection: { tagStatus: string; tagPatternList?: string[]; countNumber: number };
  action: { type: string };
}

describe("the ECR lifecycle policy", () => {
  it("protects the deployed and previous images before it keeps the newest keepImages", () => {
    // Arrange
    const infra = synthInfra({ keepImages: 3 });
    try {
      // Act
      const policy = only(infra.stacks.dependencies.json, "aws_ecr_lifecycle_policy");
      const rules = (JSON.parse(String(policy.policy)) as { rules: Rule[] }).rules.sort(
        (a, b) => a.rulePriority - b.rulePriority,
      );

      // Assert: an image a higher-priority rule selects is never expired by a lower one, and
      // only one image at a time carries each protected tag.
      expect(rules.map((r) => r.selection)).toEqual([
        {
          tagStatus: "tagged",
          tagPatternList: ["deployed"],
          countType: "imageCountMoreThan",
          countNumber: 1,
        },
        {
          tagStatus: "tagged",
          tagPatternList: ["previous"],
          countType: "imageCountMoreThan",
          countNumber: 1,
        },
        { tagStatus: "any", countType: "imageCountMoreThan", countNumber: 3 },
      ]);
    } finally {
      infra.cleanup();
    }
  });
});

/**
 * ECR as the SDK stand-in answers it: which digest carries each tag now (`tags`; any other tag is
 * on no image), and every image's manifest. Moves are recorded, not applied.
 */
function ecr(tags: Record<string, string>): Answers {
  return {
    "ECR.DescribeImages": [
      ...Object.entries(tags).map(([tag, d]) => ({
        when: { imageIds: [{ imageTag: tag }] },
        output: { imageDetails: [{ imageDigest: d, imageTags: [tag] }] },
      })),
      { error: "ImageNotFoundException" },
    ],
    "ECR.BatchGetImage": {
      output: {
        images: [
          {
            imageManifest: MANIFEST,
            imageManifestMediaType: "application/vnd.oci.image.manifest.v1+json",
          },
        ],
      },
    },
    "ECR.BatchDeleteImage": { output: { failures: [] } },
    "ECR.PutImage": { output: {} },
  };
}

/** Runs tag-deployed.sh against the SDK stand-in; returns the run and the tag moves it made. */
function tagDeployed(args: string[], answers: Answers = {}) {
  const sdk = sdkStandIn(answers);
  try {
    const run = runScript("tag-deployed.sh", args, { env: sdk.env });
    const moves = sdk.calls().flatMap(({ command, input }) => {
      if (command === "BatchDeleteImage") return [`untag ${JSON.stringify(input.imageIds)}`];
      if (command === "PutImage") return [`put ${input.imageTag} ${input.imageDigest}`];
      return [];
    });
    return { run, moves, calls: sdk.calls() };
  } finally {
    sdk.cleanup();
  }
}

describe("scripts/tag-deployed.sh", () => {
  it("moves `previous` to the image replaced and `deployed` to the new one, in that order", () => {
    // Arrange: RUNNING is deployed, OLD was the previous one
    const answers = ecr({ deployed: RUNNING, previous: OLD });

    // Act
    const { run, moves, calls } = tagDeployed(
      ["--repository-url", REPOSITORY, "--deployed", NEW, "--previous", `${REPOSITORY}@${RUNNING}`],
      answers,
    );

    // Assert
    expect(run.stderr).toContain("previous");
    expect(run.status).toBe(0);
    // RUNNING is never without a protected tag: it gets `previous` before it loses `deployed`.
    expect(moves).toEqual([
      'untag [{"imageTag":"previous"}]',
      `put previous ${RUNNING}`,
      'untag [{"imageTag":"deployed"}]',
      `put deployed ${NEW}`,
    ]);
    // In the repository of the URL, with the image's own manifest and media type.
    const put = calls.find((c) => c.command === "PutImage")?.input;
    expect(put).toEqual({
      repositoryName: "thumbs",
      registryId: "123456789012",
      imageTag: "previous",
      imageDigest: RUNNING,
      imageManifest: MANIFEST,
      imageManifestMediaType: "application/vnd.oci.image.manifest.v1+json",
    });
  });

  it("on the first deploy (no function yet, no tags) only tags the new image `deployed`", () => {
    const { run, moves } = tagDeployed(
      ["--repository-url", REPOSITORY, "--deployed", NEW],
      ecr({}),
    );

    expect(run.status).toBe(0);
    expect(moves).toEqual([`put deployed ${NEW}`]);
  });

  it("changes nothing when the image is redeployed", () => {
    const { run, moves } = tagDeployed(
      [
        "--repository-url",
        REPOSITORY,
        "--deployed",
        RUNNING,
        "--previous",
        `${REPOSITORY}@${RUNNING}`,
      ],
      ecr({ deployed: RUNNING, previous: OLD }),
    );

    expect(run.status).toBe(0);
    expect(moves).toEqual([]);
  });

  it("leaves `previous` alone when the replaced image is from another repository", () => {
    const { run, moves } = tagDeployed(
      [
        "--repository-url",
        REPOSITORY,
        "--deployed",
        NEW,
        "--previous",
        `123456789012.dkr.ecr.eu-west-1.amazonaws.com/elsewhere@${RUNNING}`,
      ],
      ecr({ deployed: RUNNING, previous: OLD }),
    );

    expect(run.status).toBe(0);
    expect(moves.join("\n")).not.toContain("previous");
    expect(moves).toEqual(['untag [{"imageTag":"deployed"}]', `put deployed ${NEW}`]);
    expect(run.stderr).toContain("not in thumbs");
  });

  it("refuses a digest that is not sha256:<64 hex>, before calling AWS", () => {
    const { run, calls } = tagDeployed(["--repository-url", REPOSITORY, "--deployed", "latest"]);

    expect(run.status).not.toBe(0);
    expect(run.stderr).toContain("--deployed 'latest' is not an image digest");
    expect(calls).toEqual([]);
    expect(run.calls).toEqual([]);
  });

  it("with --dry-run says what it would move and calls nothing", () => {
    const { run, calls } = tagDeployed(
      [
        "--repository-url",
        REPOSITORY,
        "--deployed",
        NEW,
        "--previous",
        `${REPOSITORY}@${RUNNING}`,
        "--dry-run",
      ],
      ecr({}),
    );

    expect(run.status).toBe(0);
    expect(run.stderr).toContain(`would move previous to ${RUNNING}`);
    expect(run.stderr).toContain(`would move deployed to ${NEW}`);
    expect(calls).toEqual([]);
  });
});
