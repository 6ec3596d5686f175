/** An S3 client for the local service (s3rver) and helpers to poll it. */

import {
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from "@aws-sdk/client-s3";
import { LOCAL_CREDENTIALS } from "../../cli/serve/credentials";
import { createS3Client } from "../../handler/s3-client";

export function localClient(endpoint: string): S3Client {
  return createS3Client({ endpoint, region: "us-east-1", credentials: LOCAL_CREDENTIALS });
}

export async function put(
  s3: S3Client,
  bucket: string,
  key: string,
  body: Uint8Array,
): Promise<string> {
  const output = await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
  return (output.ETag ?? "").replace(/"/g, "");
}

/** The object's bytes, content type and user metadata, or undefined when it does not exist. */
export async function get(
  s3: S3Client,
  bucket: string,
  key: string,
): Promise<
  { data: Uint8Array; contentType?: string; metadata: Record<string, string> } | undefined
> {
  try {
    const output = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    return {
      data: await (
        output.Body as { transformToByteArray(): Promise<Uint8Array> }
      ).transformToByteArray(),
      ...(output.ContentType === undefined ? {} : { contentType: output.ContentType }),
      metadata: output.Metadata ?? {},
    };
  } catch (error) {
    if ((error as { name?: string }).name === "NoSuchKey") return undefined;
    throw error;
  }
}

export async function exists(s3: S3Client, bucket: string, key: string): Promise<boolean> {
  try {
    await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
    return true;
  } catch (error) {
    if ((error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404)
      return false;
    throw error;
  }
}

export async function listKeys(s3: S3Client, bucket: string): Promise<string[]> {
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const page = await s3.send(
      new ListObjectsV2Command({ Bucket: bucket, ContinuationToken: token }),
    );
    keys.push(...(page.Contents ?? []).map((object) => object.Key ?? ""));
    token = page.NextContinuationToken;
  } while (token);
  return keys;
}

/** Polls `check` until it returns a value other than undefined, or throws after `timeoutMs`. */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined>,
  timeoutMs = 15_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
