import path from "node:path";
import type { HandlerConfig } from "../../handler/config";
import { describeError } from "../../handler/errors";
import type { Logger } from "../../handler/log";
import type { SettingValues } from "../../handler/settings";
import { type Gallery, startGallery } from "./gallery/server";
import { type Service, startService } from "./service";
import type { SERVE_SETTINGS } from "./settings";

export interface StartOptions {
  readonly serve: SettingValues<typeof SERVE_SETTINGS>;
  /** The handler's configuration, as checked from the flags and environment. */
  readonly config: HandlerConfig;
  /** The handler's settings as its environment variables, for the service's readConfig. */
  readonly handlerEnv: Readonly<Record<string, string>>;
  /** Serve the gallery page (not --no-ui). */
  readonly ui: boolean;
  readonly log: Logger;
}

export interface Started {
  readonly service: Service;
  readonly gallery: Gallery | undefined;
  readonly dataDir: string;
}

/**
 * The service on 127.0.0.1, then its gallery page; when either cannot start, says why on stderr
 * (a busy port names the flag that moves it), stops what did start and resolves undefined.
 */
export async function startServe(options: StartOptions): Promise<Started | undefined> {
  const { serve, config, log } = options;
  const dataDir = path.resolve(serve.data);
  let service: Service | undefined;
  try {
    service = await startService({
      host: "127.0.0.1",
      port: serve.port,
      dataDir,
      sourceBucket: config.sourceBucket ?? "",
      destBucket: config.destBucket,
      region: config.region ?? "",
      handlerEnv: options.handlerEnv,
      concurrency: config.concurrency,
      queueCapacity: serve.queueCapacity,
      retryDelaysMs: serve.retryDelays,
      prune: serve.prune,
      reconcileRetryMs: 5000,
      log,
    });
    const gallery = options.ui
      ? await startGallery({ service, host: "127.0.0.1", port: serve.uiPort, log })
      : undefined;
    return { service, gallery, dataDir };
  } catch (error) {
    const { code, reason } = describeError(error);
    const inUse = (error as NodeJS.ErrnoException | undefined)?.code === "EADDRINUSE";
    const [busy, flag] =
      service === undefined ? [serve.port, "--port"] : [serve.uiPort, "--ui-port"];
    await service?.stop();
    process.stderr.write(
      `thumbnailer serve: cannot start: ${inUse ? `port ${busy} is in use (try ${flag} 0)` : `${code}: ${reason}`}\n`,
    );
    return undefined;
  }
}
