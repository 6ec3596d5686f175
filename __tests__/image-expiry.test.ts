/**
 * ECR expiry never removes the image the function runs or the one a rollback needs: the rollout
 * tags them `deployed` and `previous` (scripts/tag-deployed.sh, run with the recording aws
 * stand-in), and the repository's lifecycle policy (synthesized JSON) protects those two tags
 * before it counts the rest.
 */

import { runScript } from "./support/fake-tools";
import { only, synthInfra } from "./support/infra";

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

/** aws stand-in rules: which digest carries each tag now (`tags`), and the manifests. */
function ecr(tags: Record<string, string>): string {
  const arms = Object.entries(tags)
    .map(([tag, d]) => `    "aws ecr describe-images "*"imageTag=${tag} "*) echo "${d}" ;;`)
    .join("\n");
  return `
respond() {
  local tool="$1"; shift
  case "$tool $*" in
${arms}
    "aws ecr describe-images "*) echo "An error occurred (ImageNotFoundException) when calling the DescribeImages operation" >&2; return 254 ;;
    "aws ecr batch-get-image "*imageManifestMediaType*) echo "application/vnd.oci.image.manifest.v1+json" ;;
    "aws ecr batch-get-image "*) echo '${MANIFEST}' ;;
  esac
}
`;
}

describe("scripts/tag-deployed.sh", () => {
  const ecrCalls = (lines: string[]) =>
    lines.filter((l) => /^aws ecr (batch-delete-image|put-image)/.test(l));

  it("moves `previous` to the image replaced and `deployed` to the new one, in that order", () => {
    // Arrange: RUNNING is deployed, OLD was the previous one
    const rules = ecr({ deployed: RUNNING, previous: OLD });

    // Act
    const run = runScript(
      "tag-deployed.sh",
      ["--repository-url", REPOSITORY, "--deployed", NEW, "--previous", `${REPOSITORY}@${RUNNING}`],
      { rules },
    );

    // Assert
    expect(run.stderr).toContain("previous");
    expect(run.status).toBe(0);
    const put = (tag: string, d: string) =>
      `aws ecr put-image --repository-name thumbs --region eu-west-1 --image-tag ${tag} --image-digest ${d} --image-manifest ${MANIFEST} --image-manifest-media-type application/vnd.oci.image.manifest.v1+json`;
    const untag = (tag: string) =>
      `aws ecr batch-delete-image --repository-name thumbs --region eu-west-1 --image-ids imageTag=${tag}`;
    // RUNNING is never without a protected tag: it gets `previous` before it loses `deployed`.
    expect(ecrCalls(run.lines)).toEqual([
      untag("previous"),
      put("previous", RUNNING),
      untag("deployed"),
      put("deployed", NEW),
    ]);
  });

  it("on the first deploy (no function yet, no tags) only tags the new image `deployed`", () => {
    const run = runScript("tag-deployed.sh", ["--repository-url", REPOSITORY, "--deployed", NEW], {
      rules: ecr({}),
    });

    expect(run.status).toBe(0);
    expect(ecrCalls(run.lines)).toEqual([
      expect.stringMatching(
        /^aws ecr put-image .*--image-tag deployed --image-digest sha256:c{64} /,
      ),
    ]);
  });

  it("changes nothing when the image is redeployed", () => {
    const run = runScript(
      "tag-deployed.sh",
      [
        "--repository-url",
        REPOSITORY,
        "--deployed",
        RUNNING,
        "--previous",
        `${REPOSITORY}@${RUNNING}`,
      ],
      { rules: ecr({ deployed: RUNNING, previous: OLD }) },
    );

    expect(run.status).toBe(0);
    expect(ecrCalls(run.lines)).toEqual([]);
  });

  it("leaves `previous` alone when the replaced image is from another repository", () => {
    const run = runScript(
      "tag-deployed.sh",
      [
        "--repository-url",
        REPOSITORY,
        "--deployed",
        NEW,
        "--previous",
        `123456789012.dkr.ecr.eu-west-1.amazonaws.com/elsewhere@${RUNNING}`,
      ],
      { rules: ecr({ deployed: RUNNING, previous: OLD }) },
    );

    expect(run.status).toBe(0);
    expect(ecrCalls(run.lines).join("\n")).not.toContain("previous");
    expect(run.stderr).toContain("not in thumbs");
  });

  it("refuses a digest that is not sha256:<64 hex>, before calling AWS", () => {
    const run = runScript("tag-deployed.sh", [
      "--repository-url",
      REPOSITORY,
      "--deployed",
      "latest",
    ]);

    expect(run.status).not.toBe(0);
    expect(run.stderr).toContain("--deployed");
    expect(run.calls).toEqual([]);
  });
});
