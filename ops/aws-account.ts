/**
 * Who the scripts act as, on the SDK rather than the AWS CLI (issue 19: the scripts need docker,
 * cdktf, gh and git, not `aws`):
 *
 *   aws-account account                  the account id of the working credentials (STS GetCallerIdentity)
 *   aws-account ecr-password --region R  the ECR registry password, for `docker login --password-stdin`
 *
 * Each prints its answer alone on stdout; the password is never written anywhere else.
 */
import { ECRClient, GetAuthorizationTokenCommand } from "@aws-sdk/client-ecr";
import { GetCallerIdentityCommand, STSClient } from "@aws-sdk/client-sts";
import { clientConfig } from "./aws";
import { parseOptions, runTool, UsageError } from "./run-tool";

const USAGE = `usage: aws-account account
       aws-account ecr-password --region REGION`;

/** What the scripts say when no credentials work (scripts/lib/common.sh check_aws). */
export const NO_CREDENTIALS =
  "no working AWS credentials: run 'aws configure' or 'aws sso login', or set AWS_PROFILE, then retry";

/** The region STS is asked in when the caller names none (any region answers GetCallerIdentity). */
function defaultRegion(): string {
  return process.env.AWS_REGION || process.env.AWS_DEFAULT_REGION || "us-east-1";
}

/** The account id of the credentials the SDK's default chain finds; an Error saying what to do if none work. */
export async function callerAccount(
  sts = new STSClient(clientConfig({ region: defaultRegion() })),
) {
  try {
    const { Account } = await sts.send(new GetCallerIdentityCommand({}));
    if (Account) return Account;
  } catch {
    // Any failure here (no credentials, expired SSO session, denied) has the same remedy.
  }
  throw new Error(NO_CREDENTIALS);
}

/** The password of ECR's "AWS:password" authorization token. */
export async function ecrPassword(ecr: ECRClient): Promise<string> {
  const { authorizationData } = await ecr.send(new GetAuthorizationTokenCommand({}));
  const token = authorizationData?.[0]?.authorizationToken;
  if (!token) throw new Error("ECR returned no authorization token");
  const decoded = Buffer.from(token, "base64").toString("utf8");
  const colon = decoded.indexOf(":");
  if (colon < 0) throw new Error("ECR's authorization token is not 'user:password'");
  return decoded.slice(colon + 1);
}

async function main(args: string[]): Promise<number> {
  const [command, ...rest] = args;
  const options = parseOptions(rest, { region: { type: "string" } });
  if (options.help || command === "--help" || command === "-h") {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (command === "account") {
    process.stdout.write(`${await callerAccount()}\n`);
    return 0;
  }
  if (command === "ecr-password") {
    if (!options.region) throw new UsageError("ecr-password needs --region");
    process.stdout.write(
      await ecrPassword(new ECRClient(clientConfig({ region: options.region }))),
    );
    return 0;
  }
  throw new UsageError(`unknown command '${command ?? ""}'`);
}

if (require.main === module) runTool(main, USAGE);
