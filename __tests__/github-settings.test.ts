/**
 * ops/github-settings.ts: the deploy workflow's GitHub settings, their values from the deploy's
 * outputs, and whether a repository's current ones are this deployment's.
 */
import {
  describeForeign,
  foreignVariables,
  GITHUB_SETTINGS,
  settingValues,
} from "../ops/github-settings";
import { OUTPUTS, REPOSITORY_URL, ROLE_ARN } from "./support/script-rules";

const OURS = { functionName: "thumbnailer", region: "eu-west-1" };
const vars = (pairs: Record<string, string>) =>
  Object.entries(pairs).map(([name, value]) => ({ name, value }));

describe("foreignVariables", () => {
  it.each([
    ["none set", {}],
    ["both ours", { LAMBDA_FUNCTION_NAME: "thumbnailer", AWS_REGION: "eu-west-1" }],
    ["only the region set, ours", { AWS_REGION: "eu-west-1", OTHER: "x" }],
    ["set but empty", { LAMBDA_FUNCTION_NAME: "" }],
  ])("are ours with %s", (_, current) => {
    expect(foreignVariables(vars(current), OURS)).toEqual([]);
  });

  it.each([
    ["another name", { LAMBDA_FUNCTION_NAME: "thumbs-one", AWS_REGION: "eu-west-1" }],
    [
      "the same name in another region",
      { LAMBDA_FUNCTION_NAME: "thumbnailer", AWS_REGION: "us-east-1" },
    ],
    ["only another name set", { LAMBDA_FUNCTION_NAME: "thumbs-one", OTHER: "x" }],
  ])("are another deployment's with %s, naming both variables that are set", (_, current) => {
    const foreign = foreignVariables(vars(current), OURS);

    expect(foreign).toEqual(vars(current).filter((v) => v.name !== "OTHER"));
  });

  it("tells bootstrap how to go on, and destroy that it leaves them alone", () => {
    const foreign = vars({ LAMBDA_FUNCTION_NAME: "thumbs-one", AWS_REGION: "us-east-1" });

    const bootstrap = describeForeign("bootstrap", "acme/thumbs", foreign, OURS);
    const destroy = describeForeign("destroy", "acme/thumbs", foreign, OURS);

    expect(bootstrap).toContain(
      "the deploy settings of acme/thumbs belong to another deployment: LAMBDA_FUNCTION_NAME=thumbs-one, AWS_REGION=us-east-1 (this one is thumbnailer in eu-west-1)",
    );
    expect(bootstrap).toContain("scripts/destroy.sh --name thumbs-one --region us-east-1");
    expect(bootstrap).toContain(
      "gh variable delete LAMBDA_FUNCTION_NAME --repo acme/thumbs; gh variable delete AWS_REGION --repo acme/thumbs",
    );
    expect(destroy).toMatch(
      /^left alone: the deploy settings of acme\/thumbs belong to another deployment/,
    );
  });
});

describe("settingValues", () => {
  it("takes every output-backed setting from the outputs and the region from the repository URL", () => {
    const values = settingValues(OUTPUTS);

    expect(Object.fromEntries(values)).toEqual({
      AWS_REGION: "eu-west-1",
      ECR_REPOSITORY: REPOSITORY_URL,
      LAMBDA_FUNCTION_NAME: "thumbnailer",
      SOURCE_BUCKET: "thumbnailer-source-x1",
      DEST_BUCKET: "thumbnailer-thumbnails-x1",
      AWS_DEPLOY_ROLE_ARN: ROLE_ARN,
    });
    // Every setting is either given here or derived by bootstrap.sh (LAMBDA_ARCHITECTURE)
    expect(GITHUB_SETTINGS.map((s) => s.name).filter((n) => !values.has(n))).toEqual([
      "LAMBDA_ARCHITECTURE",
    ]);
  });

  it("fails naming a setting the outputs lack and the names it looked for", () => {
    const { "deploy-role-arn": _, ...lambda } = OUTPUTS.lambda;

    expect(() => settingValues({ lambda })).toThrow(
      "the deploy did not output AWS_DEPLOY_ROLE_ARN (expected one of: deploy-role-arn, github-deploy-role-arn)",
    );
  });
});
