/**
 * s3rver accepts requests signed with these, and only these. A module of its own, so `backfill`
 * reads it without loading s3rver.
 */
export const LOCAL_CREDENTIALS = { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" } as const;
