import path from "node:path";
import { type Rendition, renditionSpec } from "../../handler/engine";
import { LOCAL_CREDENTIALS } from "./credentials";

export interface BannerFacts {
  readonly endpoint: string;
  readonly sourceBucket: string;
  readonly destBucket: string;
  readonly destPrefix: string;
  readonly renditions: readonly Rendition[];
  readonly dataDir: string;
  readonly failureRecord: string;
  /** The gallery page, unless turned off. */
  readonly galleryUrl: string | undefined;
  /** cli/node-policy.ts's notice when this Node.js is past end of life. */
  readonly nodeNotice: string | undefined;
}

/** What a person needs to use the service, printed once at start-up. */
export function banner(facts: BannerFacts): string {
  const { accessKeyId, secretAccessKey } = LOCAL_CREDENTIALS;
  const aws = `AWS_ACCESS_KEY_ID=${accessKeyId} AWS_SECRET_ACCESS_KEY=${secretAccessKey} aws --endpoint-url ${facts.endpoint}`;
  const outputs = facts.renditions.map(
    (r) =>
      `s3://${facts.destBucket}/${facts.destPrefix}${r.prefix}   (${r.name}: ${renditionSpec(r)})`,
  );
  // The first rendition stands for all in the examples.
  const destination = `s3://${facts.destBucket}/${facts.destPrefix}${facts.renditions[0]?.prefix ?? ""}`;
  const files = path.join(
    facts.dataDir,
    "s3",
    facts.destBucket,
    facts.destPrefix + (facts.renditions[0]?.prefix ?? ""),
  );
  return `
thumbnailer: local S3 service ready (s3rver, the Lambda handler's code, no AWS account needed)
${facts.nodeNotice === undefined ? "" : `\n  note          ${facts.nodeNotice}\n`}
${facts.galleryUrl === undefined ? "" : `  gallery       ${facts.galleryUrl}   (open it, drop photos on it)\n`}  endpoint      ${facts.endpoint}   (path-style buckets, any region)
  credentials   access key ${accessKeyId}, secret key ${secretAccessKey}
  uploads       s3://${facts.sourceBucket}/
  thumbnails    ${outputs.join("\n                ")}
                (each at the upload's key)
  data folder   ${facts.dataDir}   (kept across restarts)
  failures      ${facts.failureRecord}

Upload a photo (AWS CLI v1 or v2):
  ${aws} s3 cp photo.jpg s3://${facts.sourceBucket}/
Fetch its thumbnail:
  ${aws} s3 cp ${destination}photo.jpg photo-thumbnail.jpg
(The thumbnail is also a file: ${path.join(files, "photo.jpg")}._S3rver_object)

One log line per processed object follows. Ctrl+C stops.
`;
}
