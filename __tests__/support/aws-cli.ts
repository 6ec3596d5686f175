/** The AWS CLI v2 (Debian's awscli, installed by .ci/run) against the local service. */

import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { LOCAL_CREDENTIALS } from "../../cli/serve/credentials";

export const AWS_CLI_V2 = "/usr/bin/aws";

/** Runs `aws --endpoint-url ENDPOINT ARGS...` with s3rver's credentials and no user config. */
export async function awsCli(endpoint: string, args: readonly string[]): Promise<void> {
  await promisify(execFile)(AWS_CLI_V2, ["--endpoint-url", endpoint, ...args], {
    env: {
      PATH: process.env.PATH,
      AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
      AWS_CONFIG_FILE: "/dev/null",
      AWS_SHARED_CREDENTIALS_FILE: "/dev/null",
      AWS_EC2_METADATA_DISABLED: "true",
    },
  });
}
