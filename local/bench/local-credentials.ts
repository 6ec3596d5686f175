/**
 * The local S3-protocol server (s3rver) only accepts requests signed with S3RVER/S3RVER. The
 * SDK reads credentials from the environment when it first signs, so they are set around a
 * benchmark part and the caller's own environment is restored afterwards.
 */
import { LOCAL_CREDENTIALS } from "../serve/service";

export async function withLocalCredentials<T>(work: () => Promise<T>): Promise<T> {
  const saved = {
    AWS_ACCESS_KEY_ID: process.env.AWS_ACCESS_KEY_ID,
    AWS_SECRET_ACCESS_KEY: process.env.AWS_SECRET_ACCESS_KEY,
    AWS_SESSION_TOKEN: process.env.AWS_SESSION_TOKEN,
  };
  process.env.AWS_ACCESS_KEY_ID = LOCAL_CREDENTIALS.accessKeyId;
  process.env.AWS_SECRET_ACCESS_KEY = LOCAL_CREDENTIALS.secretAccessKey;
  delete process.env.AWS_SESSION_TOKEN;
  try {
    return await work();
  } finally {
    for (const [name, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  }
}
