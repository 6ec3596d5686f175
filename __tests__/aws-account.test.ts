/**
 * ops/aws-account.ts in process (aws-sdk-client-mock): who the scripts act as, and the ECR
 * password docker logs in with. The scripts' wiring is in scripts.test.ts and
 * rollout-guards.test.ts (through the SDK stand-in).
 */
import { ECRClient, GetAuthorizationTokenCommand } from "@aws-sdk/client-ecr";
import { ExpiredTokenException, GetCallerIdentityCommand, STSClient } from "@aws-sdk/client-sts";
import { mockClient } from "aws-sdk-client-mock";
import { callerAccount, ecrPassword, NO_CREDENTIALS } from "../ops/aws-account";

const token = (text: string) => Buffer.from(text, "utf8").toString("base64");

describe("callerAccount", () => {
  const sts = mockClient(STSClient);
  afterEach(() => sts.reset());

  it("is the account STS says the credentials belong to", async () => {
    sts.on(GetCallerIdentityCommand).resolves({ Account: "123456789012", Arn: "arn:x" });

    await expect(callerAccount(new STSClient({ region: "eu-west-1" }))).resolves.toBe(
      "123456789012",
    );
    expect(sts.commandCalls(GetCallerIdentityCommand)).toHaveLength(1);
  });

  it.each([
    [
      "credentials STS refuses",
      () => sts.rejects(new ExpiredTokenException({ message: "expired", $metadata: {} })),
    ],
    [
      "no credentials at all",
      () => sts.rejects(new Error("Could not load credentials from any providers")),
    ],
    ["an answer without an account", () => sts.resolves({})],
  ])("says what to do for %s", async (_, answer) => {
    answer();

    await expect(callerAccount(new STSClient({ region: "eu-west-1" }))).rejects.toThrow(
      NO_CREDENTIALS,
    );
  });
});

describe("ecrPassword", () => {
  const ecr = mockClient(ECRClient);
  afterEach(() => ecr.reset());

  it("is the password half of ECR's AWS:password token, colons and all", async () => {
    ecr
      .on(GetAuthorizationTokenCommand)
      .resolves({ authorizationData: [{ authorizationToken: token("AWS:pa:ss=word") }] });

    await expect(ecrPassword(new ECRClient({ region: "eu-west-1" }))).resolves.toBe("pa:ss=word");
  });

  it.each([
    ["no token", {}, "ECR returned no authorization token"],
    [
      "a token that is not user:password",
      { authorizationData: [{ authorizationToken: token("no-colon") }] },
      "ECR's authorization token is not 'user:password'",
    ],
  ])("refuses %s", async (_, answer, message) => {
    ecr.on(GetAuthorizationTokenCommand).resolves(answer);

    await expect(ecrPassword(new ECRClient({ region: "eu-west-1" }))).rejects.toThrow(message);
  });
});
