/**
 * SDK stand-in answers (sdk-stand-in.ts) for ops/state-bucket.ts as scripts/bootstrap.sh and
 * scripts/migrate-state.sh run it: the caller in ACCOUNT, and every guard put accepted.
 */
import { STATE_BUCKET_TAG } from "../../ops/state-bucket";
import { ACCOUNT } from "./script-rules";
import type { Answers } from "./sdk-stand-in";

const PUTS: Answers = Object.fromEntries(
  [
    "CreateBucket",
    "PutBucketTagging",
    "PutBucketVersioning",
    "PutBucketEncryption",
    "PutPublicAccessBlock",
    "PutBucketOwnershipControls",
    "PutBucketPolicy",
  ].map((command) => [`S3.${command}`, {}]),
);

const CALLER: Answers = {
  "STS.GetCallerIdentity": {
    output: { Account: ACCOUNT, Arn: `arn:aws:iam::${ACCOUNT}:user/operator` },
  },
};

/** No state bucket yet: HeadBucket says 404, the creation goes through. */
export function newStateBucket(extra: Answers = {}): Answers {
  return { ...CALLER, ...PUTS, "S3.HeadBucket": { error: "NotFound", status: 404 }, ...extra };
}

/** Every bucket asked for exists in `region` and is a state bucket this tool created. */
export function ownStateBucket(region: string, extra: Answers = {}): Answers {
  return {
    ...CALLER,
    ...PUTS,
    "S3.HeadBucket": { output: { BucketRegion: region } },
    "S3.GetBucketTagging": {
      output: { TagSet: [{ Key: STATE_BUCKET_TAG, Value: `thumbnailer-${region}` }] },
    },
    ...extra,
  };
}
