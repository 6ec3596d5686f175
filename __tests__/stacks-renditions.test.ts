/**
 * Renditions in the infrastructure (synth, offline): the list in cdktf.json's context reaches the
 * function's environment, the execution role writes only under DEST_PREFIX whatever the list, and
 * a bad list fails the synth with the handler's own message.
 */
import { LambdaFunction } from "@cdktf/provider-aws/lib/lambda-function";
import { ConfigError } from "../handler/errors";
import { readInfraConfig } from "../stacks/config";
import { SMOKE_TEST_FOLDER } from "../stacks/deploy-role";
import { dataSources, type SynthedInfra, synthInfra } from "./support/infra";

const RENDITIONS = [
  { name: "list", width: 200, height: 200, fit: "cover", position: "attention", format: "webp" },
  { name: "social", width: 1200, height: 630, fit: "cover", format: "webp", prefix: "cards/" },
];

interface Statement {
  readonly actions?: string[];
  readonly resources?: string[];
}

/** The execution role's policy document. */
function executionPermissions(infra: SynthedInfra): { statement: Statement[] } {
  return dataSources(infra.stacks.dependencies.json, "aws_iam_policy_document")[
    "execution-permissions"
  ] as { statement: Statement[] };
}

/** The keys `action` is allowed on in the destination bucket, without the bucket's ARN. */
function destinationResources(doc: { statement: Statement[] }, action: string): string[] {
  return doc.statement
    .filter((s) => s.actions?.includes(action))
    .flatMap((s) => s.resources ?? [])
    .filter((arn) => arn.includes("destination-bucket"))
    .map((arn) => arn.replace(/^.*destination-bucket[^/]*\//, ""));
}

describe("renditions in the stacks (synth)", () => {
  let infra: SynthedInfra;

  beforeAll(() => {
    infra = synthInfra({
      name: "thumbs-renditions",
      destPrefix: "t/",
      renditions: RENDITIONS,
      notificationPrefix: "in/",
      githubRepository: "acme/thumbs",
    });
  });
  afterAll(() => infra.cleanup());

  it("passes the list to the function as RENDITIONS", () => {
    expect(infra.stacks.lambda.text).toHaveResourceWithProperties(LambdaFunction, {
      environment: {
        variables: expect.objectContaining({
          DEST_PREFIX: "t/",
          RENDITIONS: JSON.stringify(RENDITIONS),
        }),
      },
    });
  });

  it("lets the function write and delete under DEST_PREFIX, so a renditions change leaves its rights as they were", () => {
    // Arrange: the same deployment with one rendition renamed and given another prefix
    const changed = synthInfra({
      name: "thumbs-renditions",
      destPrefix: "t/",
      renditions: [RENDITIONS[0], { ...RENDITIONS[1], name: "banner", prefix: "banners/" }],
      notificationPrefix: "in/",
      githubRepository: "acme/thumbs",
    });
    try {
      // Act
      const before = executionPermissions(infra);
      const after = executionPermissions(changed);

      // Assert: the policy lives in the dependencies stack, applied before the Lambda stack
      // changes RENDITIONS; it must not change, or events in between would be denied.
      for (const action of ["s3:PutObject", "s3:DeleteObject"]) {
        expect([action, destinationResources(before, action)]).toEqual([action, ["t/*"]]);
      }
      expect(after).toEqual(before);
    } finally {
      changed.cleanup();
    }
  });

  it("lets the CI smoke test read and delete its thumbnail under every rendition's prefix", () => {
    const doc = dataSources(infra.stacks.dependencies.json, "aws_iam_policy_document")[
      "deploy-permissions"
    ] as { statement: { sid?: string; resources?: string[] }[] };
    const read = doc.statement.find((s) => s.sid === "SmokeTestReadThumbnail");

    expect(read?.resources?.map((arn) => arn.replace(/^.*destination-bucket[^/]*\//, ""))).toEqual([
      `t/list/in/${SMOKE_TEST_FOLDER}*`,
      `t/cards/in/${SMOKE_TEST_FOLDER}*`,
    ]);
  });
});

describe("renditions in the infrastructure configuration", () => {
  const read = (context: Record<string, unknown>, env: NodeJS.ProcessEnv = {}) =>
    readInfraConfig({ context: (key) => context[key], env });

  it("takes THUMBNAILER_RENDITIONS as JSON text, and keeps the default prefix without a list", () => {
    const list = JSON.stringify([{ name: "small", width: 64, height: 64 }]);

    expect(read({}, { THUMBNAILER_RENDITIONS: list })).toMatchObject({
      handlerEnvironment: { RENDITIONS: list },
      destinationPrefixes: ["small/"],
    });
    expect(read({ destPrefix: "thumbs/" }).destinationPrefixes).toEqual(["thumbs/"]);
  });

  it("fails with the handler's message naming the rendition and the field", () => {
    let thrown: unknown;
    try {
      read({ renditions: [{ name: "card", width: 1200, height: 630, animated: true }] });
    } catch (error) {
      thrown = error;
    }

    expect(thrown).toBeInstanceOf(ConfigError);
    expect((thrown as Error).message).toContain(
      'renditions (THUMBNAILER_RENDITIONS): RENDITIONS: rendition "card": animated needs a format that can animate (webp, gif)',
    );
  });

  it("refuses a list together with THUMB_* settings, naming both", () => {
    expect(() =>
      read({ renditions: [{ name: "a", width: 10, height: 10 }], thumbWidth: 128 }),
    ).toThrow(/RENDITIONS and THUMB_WIDTH are both set/);
  });
});
