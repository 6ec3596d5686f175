import { readConfig } from "../../handler/config";
import { configureSharp } from "../../handler/engine";
import { createLogger } from "../../handler/log";
import { takeOverNodeWarning } from "../node-policy";
import {
  commandStep,
  defaultText,
  flagHelp,
  flagOptions,
  handlerEnvironment,
  helpLine,
  parseCommandLine,
  readFlags,
  refuseUnknownVariables,
} from "../setting-flags";
import { type Setting, THUMBNAIL_SETTINGS, variableOf } from "../settings";
import { banner } from "./banner";
import { HANDLER_SERVE_SETTINGS, SERVE_SETTINGS } from "./settings";
import { stopOnSignal } from "./shutdown";
import { startServe } from "./start";

const HELP = `Usage: thumbnailer serve [options]        (npm start)

Runs the thumbnail pipeline on this machine: an S3-protocol server (s3rver) on 127.0.0.1 with a
source and a destination bucket, whose upload and delete events are delivered, as genuine S3
notification events, to the same handler code the Lambda container runs. Upload to the source
bucket with any S3 client (credentials S3RVER / S3RVER); thumbnails appear in the destination
bucket under the same key. At start-up every upload without an up-to-date thumbnail is processed.
A gallery page (http://127.0.0.1:${SERVE_SETTINGS.uiPort.default}/) shows the uploads with their thumbnails and state, live,
and takes uploads by drag-and-drop.

Options (environment variable and default in brackets; a flag wins over its variable). The
variables are the names a deployment takes too (docs/deploy.md), so its exported settings apply
here; a THUMBNAILER_* or THUMB_* variable that is no setting is refused:
${flagHelp(SERVE_SETTINGS, { variables: true })}
${flagHelp(HANDLER_SERVE_SETTINGS, { variables: true })}
  --no-ui                 do not serve the gallery page
  -h, --help              show this help

Thumbnail options:
${flagHelp(THUMBNAIL_SETTINGS, { variables: true })}

Also read from the environment:
${envOnlyHelp(HANDLER_SERVE_SETTINGS)}

A bad upload (corrupt, empty, SVG, too many pixels...) is tagged thumbnailer-error on the source
object and written to failures.jsonl; a restart with other settings (e.g. a higher
--max-input-pixels) retries it. An invocation that fails 3 times (S3 unreachable...) is
written there too and retried once by reconciliation. SIGINT/SIGTERM stop cleanly; after a
crash, the next start repairs the store and reconciles. See docs/local.md.
`;

export async function run(args: string[]): Promise<number> {
  const handlerSettings = { ...HANDLER_SERVE_SETTINGS, ...THUMBNAIL_SETTINGS };
  const parsed = await commandStep("serve", () =>
    parseCommandLine({
      args,
      options: {
        help: { type: "boolean", short: "h" },
        "no-ui": { type: "boolean" },
        ...flagOptions(SERVE_SETTINGS, handlerSettings),
      },
    }),
  );
  if (!parsed.ok) return parsed.exitCode;
  const values: Record<string, string | boolean | undefined> = parsed.value.values;
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  const read = await commandStep(
    "serve",
    async () => {
      refuseUnknownVariables(process.env);
      const serve = readFlags(SERVE_SETTINGS, values, process.env);
      const handlerEnv = await handlerEnvironment(handlerSettings, values, process.env);
      // Validate everything before binding a port: a bad flag is a usage error, not a crash.
      return { serve, handlerEnv, config: readConfig(handlerEnv) };
    },
    handlerSettings,
  );
  if (!read.ok) return read.exitCode;
  const { serve, handlerEnv, config } = read.value;
  configureSharp();
  const log = createLogger(config.logLevel);
  // Before the first S3 client: the banner carries the project's notice instead of the SDK's.
  const nodeNotice = takeOverNodeWarning(process.env, process.version);
  const started = await startServe({
    serve,
    config,
    handlerEnv,
    ui: values["no-ui"] !== true,
    log,
  });
  if (started === undefined) return 1;
  const { service, gallery, dataDir } = started;
  process.stdout.write(
    banner({
      endpoint: service.endpoint,
      sourceBucket: config.sourceBucket ?? "",
      destBucket: config.destBucket,
      destPrefix: config.destPrefix,
      renditions: config.renditions,
      dataDir,
      failureRecord: service.failureRecord,
      galleryUrl: gallery?.url,
      nodeNotice,
    }),
  );
  return stopOnSignal(log, async () => {
    await gallery?.close();
    await service.stop();
  });
}

/** The rows without a flag: "  THUMBNAILER_CACHE_CONTROL   Cache-Control of ... [default]". */
function envOnlyHelp(table: Record<string, Setting<unknown>>): string {
  return Object.values(table)
    .filter((setting) => setting.flag === undefined)
    .map((setting) => helpLine(variableOf(setting), `${setting.doc} [${defaultText(setting)}]`))
    .join("\n");
}
