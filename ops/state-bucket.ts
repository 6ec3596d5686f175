/**
 * The S3 bucket that holds the deployment's Terraform state, for scripts/bootstrap.sh and
 * scripts/migrate-state.sh. It is not Terraform's to manage (it holds Terraform's own state), so
 * this creates it, or checks the one it reuses. Run from the project root, after `cdktf synth`:
 *
 *   node dist/ops/state-bucket.js ensure [--migrating]
 *       creates or reuses the bucket (the persisted stateBucket, else
 *       <name>-tfstate-<account>-<region>) and prints "BUCKET REGION"; without --migrating it
 *       refuses while a synthesized stack still keeps its state in a non-empty local file
 *   node dist/ops/state-bucket.js migration BUCKET REGION
 *       "STACK PATH KEY" for each synthesized stack whose local state file is not empty; refuses
 *       (nothing printed) when the bucket already holds a state at one of those keys
 *   node dist/ops/state-bucket.js check BUCKET REGION KEY...
 *       exit 0 when every state object exists, else 1 naming each missing one
 *
 * A bucket this creates carries the tag STATE_BUCKET_TAG: reused later, its guards (versioning,
 * encryption, public access block, ownership, TLS-only policy) are put again. A bucket without
 * the tag (one you made) is never changed, only refused unless versioning is Enabled.
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import {
  type BucketLocationConstraint,
  CreateBucketCommand,
  GetBucketTaggingCommand,
  GetBucketVersioningCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  PutBucketEncryptionCommand,
  PutBucketOwnershipControlsCommand,
  PutBucketPolicyCommand,
  PutBucketTaggingCommand,
  PutBucketVersioningCommand,
  PutPublicAccessBlockCommand,
  S3Client,
} from "@aws-sdk/client-s3";
import { GetCallerIdentityCommand, STSClient } from "@aws-sdk/client-sts";
import { type InfraConfig, readInfraConfig } from "../stacks/config";
import { readPersisted } from "../stacks/persisted-settings";
import { stateLocation } from "../stacks/stack-base";
import { clientConfig, describeError, isAbsent, isForbidden } from "./aws";
import { runNamed } from "./run-tool";

/** Tag key on a state bucket this tool created; its value names the deployment that did. */
export const STATE_BUCKET_TAG = "thumbnailer:state-bucket";

/** S3's limit on bucket names. */
const BUCKET_NAME_MAX = 63;

/** A refusal: said to the operator as is, nothing changed by the step that threw it. */
export class StateBucketError extends Error {
  override readonly name = "StateBucketError";
}

/** Where the caller is: the account, and the partition its ARNs use (aws, aws-cn, aws-us-gov). */
export interface Caller {
  readonly account: string;
  readonly partition: string;
}

/** The bucket to ensure and what it is checked against. */
export interface StateBucketTarget {
  readonly bucket: string;
  readonly region: string;
  readonly caller: Caller;
  /** The deployment (`<name>-<region>`) a new bucket's tag names. */
  readonly deployment: string;
}

export type Outcome = "created" | "reused-own" | "reused";

/** `<name>-tfstate-<account>-<region>`: one per deployment name, account and region. */
export function stateBucketName(name: string, account: string, region: string): string {
  const bucket = `${name}-tfstate-${account}-${region}`;
  if (bucket.length > BUCKET_NAME_MAX) {
    throw new StateBucketError(
      `state bucket name ${bucket} is longer than S3's ${BUCKET_NAME_MAX} characters: ` +
        "set stateBucket (THUMBNAILER_STATE_BUCKET) to a shorter name",
    );
  }
  return bucket;
}

/** The bucket policy: every request without TLS is denied. */
export function tlsOnlyPolicy(bucket: string, partition: string): string {
  const arn = `arn:${partition}:s3:::${bucket}`;
  return JSON.stringify({
    Version: "2012-10-17",
    Statement: [
      {
        Sid: "DenyInsecureTransport",
        Effect: "Deny",
        Principal: "*",
        Action: "s3:*",
        Resource: [arn, `${arn}/*`],
        Condition: { Bool: { "aws:SecureTransport": "false" } },
      },
    ],
  });
}

/** Versioning, SSE-S3 encryption, every public access blocked, no ACLs, TLS only. */
async function putGuards(s3: S3Client, target: StateBucketTarget): Promise<void> {
  const owned = { Bucket: target.bucket, ExpectedBucketOwner: target.caller.account };
  await s3.send(
    new PutBucketVersioningCommand({ ...owned, VersioningConfiguration: { Status: "Enabled" } }),
  );
  await s3.send(
    new PutBucketEncryptionCommand({
      ...owned,
      ServerSideEncryptionConfiguration: {
        Rules: [{ ApplyServerSideEncryptionByDefault: { SSEAlgorithm: "AES256" } }],
      },
    }),
  );
  await s3.send(
    new PutPublicAccessBlockCommand({
      ...owned,
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true,
        IgnorePublicAcls: true,
        BlockPublicPolicy: true,
        RestrictPublicBuckets: true,
      },
    }),
  );
  await s3.send(
    new PutBucketOwnershipControlsCommand({
      ...owned,
      OwnershipControls: { Rules: [{ ObjectOwnership: "BucketOwnerEnforced" }] },
    }),
  );
  await s3.send(
    new PutBucketPolicyCommand({
      ...owned,
      Policy: tlsOnlyPolicy(target.bucket, target.caller.partition),
    }),
  );
}

/** The region of an existing bucket of this account, or undefined when there is none. */
async function existingBucketRegion(
  s3: S3Client,
  target: StateBucketTarget,
): Promise<string | undefined> {
  try {
    const head = await s3.send(
      new HeadBucketCommand({ Bucket: target.bucket, ExpectedBucketOwner: target.caller.account }),
    );
    return head.BucketRegion ?? target.region;
  } catch (error) {
    if (isAbsent(error)) return undefined;
    if (isForbidden(error)) {
      throw new StateBucketError(
        `state bucket ${target.bucket} exists but not in account ${target.caller.account} ` +
          "(403): bucket names are global; set stateBucket (THUMBNAILER_STATE_BUCKET) to a " +
          "bucket of this account, or to a free name",
      );
    }
    throw error;
  }
}

/** Whether the bucket carries STATE_BUCKET_TAG (a bucket without any tag has none). */
async function isOurs(s3: S3Client, target: StateBucketTarget): Promise<boolean> {
  try {
    const tags = await s3.send(
      new GetBucketTaggingCommand({
        Bucket: target.bucket,
        ExpectedBucketOwner: target.caller.account,
      }),
    );
    return (tags.TagSet ?? []).some((tag) => tag.Key === STATE_BUCKET_TAG);
  } catch (error) {
    if (error instanceof Error && error.name === "NoSuchTagSet") return false;
    throw error;
  }
}

/**
 * Creates the state bucket with every guard, or reuses it: one this tool created gets its guards
 * put again; one it did not create is left as it is, and refused unless versioned.
 */
export async function ensureStateBucket(
  s3: S3Client,
  target: StateBucketTarget,
  log: (line: string) => void = () => {},
): Promise<Outcome> {
  const { bucket, region } = target;
  const found = await existingBucketRegion(s3, target);
  if (found === undefined) {
    await s3.send(
      new CreateBucketCommand({
        Bucket: bucket,
        ObjectOwnership: "BucketOwnerEnforced",
        // us-east-1 is S3's default location and refuses it as a LocationConstraint.
        ...(region === "us-east-1"
          ? {}
          : // The SDK's list of regions may lag behind S3's: any region name is sent as is.
            {
              CreateBucketConfiguration: { LocationConstraint: region as BucketLocationConstraint },
            }),
      }),
    );
    await s3.send(
      new PutBucketTaggingCommand({
        Bucket: bucket,
        ExpectedBucketOwner: target.caller.account,
        Tagging: { TagSet: [{ Key: STATE_BUCKET_TAG, Value: target.deployment }] },
      }),
    );
    await putGuards(s3, target);
    log(`created the state bucket ${bucket} in ${region}: versioned, encrypted, private, TLS only`);
    return "created";
  }
  if (found !== region) {
    throw new StateBucketError(
      `state bucket ${bucket} is in ${found}, not ${region}: set stateRegion ` +
        `(THUMBNAILER_STATE_REGION) to ${found}`,
    );
  }
  if (await isOurs(s3, target)) {
    await putGuards(s3, target);
    log(`reusing the state bucket ${bucket} (${STATE_BUCKET_TAG}): its guards are in place`);
    return "reused-own";
  }
  const versioning = await s3.send(
    new GetBucketVersioningCommand({ Bucket: bucket, ExpectedBucketOwner: target.caller.account }),
  );
  if (versioning.Status !== "Enabled") {
    throw new StateBucketError(
      `bucket ${bucket} is not versioned (${versioning.Status ?? "never enabled"}): a state ` +
        "overwritten by mistake could not be recovered. Enable versioning on it " +
        `(aws s3api put-bucket-versioning --bucket ${bucket} --versioning-configuration ` +
        "Status=Enabled), or unset stateBucket to let bootstrap create one",
    );
  }
  log(
    `reusing the bucket ${bucket}: versioned; not created here, so its other settings are ` +
      "yours to keep (keep it private and TLS-only)",
  );
  return "reused";
}

/** A stack `cdktf synth` wrote, and the local state file its backend names (if local). */
export interface SynthesizedState {
  readonly stack: string;
  readonly localPath?: string;
}

/** Every stack in `outdir` (cdktf.out), in name order, with its local backend's path. */
export function synthesizedStates(outdir: string): SynthesizedState[] {
  const stacks = join(outdir, "stacks");
  return readdirSync(stacks)
    .sort()
    .map((stack) => {
      const json = JSON.parse(readFileSync(join(stacks, stack, "cdk.tf.json"), "utf8")) as {
        terraform?: { backend?: { local?: { path?: string } } };
      };
      return { stack, localPath: json.terraform?.backend?.local?.path };
    });
}

/** The stacks whose local state file exists and is not empty. */
export function localStates(outdir: string): { stack: string; path: string }[] {
  return synthesizedStates(outdir).flatMap(({ stack, localPath }) =>
    localPath !== undefined && existsSync(localPath) && statSync(localPath).size > 0
      ? [{ stack, path: localPath }]
      : [],
  );
}

/** Whether the bucket holds an object at `key`. */
export async function hasObject(s3: S3Client, bucket: string, key: string): Promise<boolean> {
  try {
    await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
    return true;
  } catch (error) {
    if (isAbsent(error)) return false;
    throw error;
  }
}

/** One local state to move: the stack, its file, and the key it goes to. */
export interface Move {
  readonly stack: string;
  readonly path: string;
  readonly key: string;
}

/**
 * What a migration to `bucket` moves; refuses when the bucket already holds a state at one of
 * the keys (Terraform's -force-copy would overwrite it).
 */
export async function planMigration(
  s3: S3Client,
  config: InfraConfig,
  outdir: string,
  root: string,
  bucket: string,
): Promise<Move[]> {
  const moves = localStates(outdir).map(({ stack, path }) => {
    const target = stateLocation({ ...config, stateBucket: bucket }, stack, root);
    if (target.kind !== "s3") throw new Error(`internal: ${stack} has no S3 location`);
    return { stack, path, key: target.key };
  });
  const taken: string[] = [];
  for (const move of moves) {
    if (await hasObject(s3, bucket, move.key)) taken.push(`s3://${bucket}/${move.key}`);
  }
  if (taken.length > 0) {
    throw new StateBucketError(
      `the state bucket already holds ${taken.join(" and ")}: migrating would overwrite it. ` +
        "Nothing was changed. If an earlier migration stopped after copying it, compare it with " +
        "the local file; the bucket is versioned, so `aws s3 rm` on it keeps it as a previous version",
    );
  }
  return moves;
}

/** The deployment's settings as a synth reads them: the environment over cdktf.json. */
function readConfig(root: string): InfraConfig {
  const persisted = readPersisted(join(root, "cdktf.json"));
  return readInfraConfig({ context: (key) => persisted[key], env: process.env });
}

async function whoAmI(region: string): Promise<Caller> {
  const identity = await new STSClient(clientConfig({ region })).send(
    new GetCallerIdentityCommand({}),
  );
  const account = identity.Account ?? "";
  const partition = identity.Arn?.split(":")[1] ?? "aws";
  if (account === "") throw new Error("STS GetCallerIdentity returned no account");
  return { account, partition };
}

/** S3 in `region`, following a bucket to its own region (HeadBucket then names it). */
function s3In(region: string): S3Client {
  return new S3Client({ ...clientConfig({ region }), followRegionRedirects: true });
}

/** `ensure`: the bucket and region, after checking no local state would be left behind. */
async function ensure(root: string, migrating: boolean): Promise<string> {
  const outdir = join(root, "cdktf.out");
  const config = readConfig(root);
  const local = config.stateBucket === undefined && !migrating ? localStates(outdir) : [];
  if (local.length > 0) {
    throw new StateBucketError(
      `this deployment keeps its Terraform state in local files (${local.map((l) => l.path).join(", ")}): ` +
        "move it into the state bucket with scripts/migrate-state.sh, or keep it local with --local-state",
    );
  }
  const region = config.stateRegion ?? config.region;
  const caller = await whoAmI(region);
  const bucket = config.stateBucket ?? stateBucketName(config.name, caller.account, region);
  await ensureStateBucket(
    s3In(region),
    { bucket, region, caller, deployment: `${config.name}-${config.region}` },
    (line) => console.error(`    ${line}`),
  );
  return `${bucket} ${region}\n`;
}

async function main(args: string[]): Promise<number> {
  const root = process.cwd();
  const [command, ...rest] = args;
  if (command === "ensure" && rest.every((arg) => arg === "--migrating")) {
    process.stdout.write(await ensure(root, rest.includes("--migrating")));
    return 0;
  }
  if (command === "migration" && rest.length === 2) {
    const [bucket = "", region = ""] = rest;
    const moves = await planMigration(
      s3In(region),
      readConfig(root),
      join(root, "cdktf.out"),
      root,
      bucket,
    );
    for (const move of moves) process.stdout.write(`${move.stack} ${move.path} ${move.key}\n`);
    return 0;
  }
  if (command === "check" && rest.length >= 3) {
    const [bucket = "", region = "", ...keys] = rest;
    const s3 = s3In(region);
    let missing = 0;
    for (const key of keys) {
      if (await hasObject(s3, bucket, key)) continue;
      console.error(`state-bucket: s3://${bucket}/${key} does not exist`);
      missing += 1;
    }
    return missing === 0 ? 0 : 1;
  }
  console.error(
    "usage: state-bucket.js ensure [--migrating] | migration BUCKET REGION | check BUCKET REGION KEY...",
  );
  return 2;
}

if (require.main === module)
  runNamed("state-bucket", main, (error) =>
    error instanceof StateBucketError ? error.message : describeError(error),
  );
