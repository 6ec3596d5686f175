/**
 * bootstrap.sh's account checks (issue 10, defect 12), run for real against the recording
 * stand-ins: the Lambda concurrency quota when reservedConcurrency is set, and names the
 * deployment would create that already exist. The names come from a real synth of the settings.
 */

import { runScript, type ScratchProject, scratchProject } from "./support/fake-tools";
import { synthInfra } from "./support/infra";
import { rules } from "./support/script-rules";

// Each test synthesizes both stacks and runs bootstrap.sh: slow on a busy machine.
jest.setTimeout(120_000);

let project: ScratchProject;
afterEach(() => project.cleanup());

/** bootstrap.sh --yes for acme/thumbs in a checkout with `context`, the stand-ins answering `arms`. */
function bootstrap(context: Record<string, unknown>, arms: string) {
  project = scratchProject(context);
  const infra = synthInfra({ ...context, githubRepository: "acme/thumbs" }, {});
  try {
    return runScript("bootstrap.sh", ["--yes", "--repo", "acme/thumbs"], {
      project: project.dir,
      rules: rules(arms),
      env: { SYNTH_OUT: infra.outdir },
    });
  } finally {
    infra.cleanup();
  }
}

const deployed = (lines: string[]) => lines.some((l) => l.startsWith("npx cdktf deploy"));

describe("bootstrap.sh: the Lambda concurrency quota", () => {
  it("refuses a reservedConcurrency that would leave fewer than 10 unreserved executions, before deploying", () => {
    // Arrange: a new account (10 in total, all unreserved); the function does not exist yet
    const arms = `
    "aws lambda get-account-settings"*) printf '10\\t10\\n' ;;
    "aws lambda get-function-concurrency"*)
      echo "An error occurred (ResourceNotFoundException) when calling the GetFunctionConcurrency operation: Function not found" >&2; return 254 ;;`;

    // Act
    const run = bootstrap({ region: "eu-west-1", reservedConcurrency: 5 }, arms);

    // Assert: the numbers and both ways out, and nothing deployed
    expect(run.status).toBe(1);
    expect(run.stderr).toContain(
      "reservedConcurrency 5 would leave 5 of the account's 10 concurrent executions unreserved in eu-west-1; AWS keeps at least 10 unreserved",
    );
    expect(run.stderr).toContain("unset reservedConcurrency");
    expect(run.stderr).toContain("Service Quotas");
    expect(run.lines).toContain(
      "aws lambda get-account-settings --region eu-west-1 --query [AccountLimit.ConcurrentExecutions, AccountLimit.UnreservedConcurrentExecutions] --output text",
    );
    expect(deployed(run.lines)).toBe(false);
  });

  it("does not count twice the reservation the deployed function already holds", () => {
    // Arrange: 20 in total; the deployed function already reserves 8, so 12 are unreserved
    const arms = `
    "aws lambda get-account-settings"*) printf '20\\t12\\n' ;;
    "aws lambda get-function-concurrency --function-name thumbnailer "*) echo 8 ;;`;

    // Act
    const run = bootstrap({ region: "eu-west-1", reservedConcurrency: 8 }, arms);

    // Assert: 12 + 8 - 8 = 12 stay unreserved: deployed
    expect(run.stderr).not.toMatch(/error:|Preflight failed/);
    expect(run.status).toBe(0);
    expect(deployed(run.lines)).toBe(true);
  });

  it("asks nothing about the quota when reservedConcurrency is not set", () => {
    // Act
    const run = bootstrap({ region: "eu-west-1" }, "");

    // Assert
    expect(run.status).toBe(0);
    expect(run.lines.some((l) => l.startsWith("aws lambda get-account-settings"))).toBe(false);
  });
});

describe("bootstrap.sh: names that already exist (no Terraform state yet)", () => {
  it("refuses, naming every bucket, repository, log group and role that exists and what to do", () => {
    // Arrange: the source bucket is someone else's (403), the thumbnail bucket ours from a lost
    // state (200); the repository, the log group and the function's role exist
    const arms = `
    "aws s3api head-bucket --bucket thumbnailer-source-"*)
      echo "An error occurred (403) when calling the HeadBucket operation: Forbidden" >&2; return 254 ;;
    "aws s3api head-bucket --bucket thumbnailer-thumbnails-"*) echo '{"BucketRegion": "eu-west-1"}' ;;
    "aws ecr describe-repositories --repository-names thumbnailer "*) echo thumbnailer ;;
    "aws logs describe-log-groups --log-group-name-prefix /aws/lambda/thumbnailer "*) echo /aws/lambda/thumbnailer ;;
    "aws iam get-role --role-name thumbnailer-eu-west-1-lambda "*) echo thumbnailer-eu-west-1-lambda ;;`;

    // Act
    const run = bootstrap({ region: "eu-west-1" }, arms);

    // Assert
    expect(run.status).toBe(1);
    expect(run.stderr).toContain("Preflight failed; nothing was created or changed");
    expect(run.stderr).toContain(
      "bucket thumbnailer-source-123456789012-eu-west-1 already exists and belongs to another account (403)",
    );
    expect(run.stderr).toContain(
      "bucket thumbnailer-thumbnails-123456789012-eu-west-1 already exists in this account",
    );
    expect(run.stderr).toContain("ECR repository thumbnailer already exists");
    expect(run.stderr).toContain("log group /aws/lambda/thumbnailer already exists");
    expect(run.stderr).toContain("IAM role thumbnailer-eu-west-1-lambda already exists");
    expect(run.stderr).toContain('pick another "name"');
    expect(run.stderr).toContain("terraform import");
    expect(deployed(run.lines)).toBe(false);
  });

  it("passes when none of the names exists, checking each planned one", () => {
    // Act: the stand-ins' defaults answer "not found"
    const run = bootstrap({ region: "eu-west-1" }, "");

    // Assert
    expect(run.status).toBe(0);
    expect(run.lines).toContain(
      "aws s3api head-bucket --bucket thumbnailer-source-123456789012-eu-west-1 --region eu-west-1",
    );
    expect(run.lines).toContain(
      "aws iam get-role --role-name thumbnailer-eu-west-1-github-deploy --query Role.RoleName --output text",
    );
    expect(deployed(run.lines)).toBe(true);
  });

  it("does not check names when the deployment already has state (a redeploy), and says so", () => {
    // Arrange: state in S3; its object exists
    const arms = `
    "aws s3api head-object --bucket acme-tfstate --key thumbnailer/eu-west-1/"*) echo '{"ContentLength": 1}' ;;
    "aws s3api head-bucket"*) echo '{}' ;;`;

    // Act
    const run = bootstrap({ region: "eu-west-1", stateBucket: "acme-tfstate" }, arms);

    // Assert
    expect(run.status).toBe(0);
    expect(run.lines.some((l) => l.startsWith("aws s3api head-bucket"))).toBe(false);
    expect(run.stderr).toContain("already has Terraform state");
    expect(deployed(run.lines)).toBe(true);
  });
});
