/**
 * A TCP proxy that can be made unreachable: pause() closes the listening socket and cuts every
 * open connection (clients get "connection refused"), resume() listens again on the same port.
 */

import net from "node:net";

export interface TcpProxy {
  readonly port: number;
  pause(): Promise<void>;
  resume(): Promise<void>;
  close(): Promise<void>;
}

/** `target` is read per connection, so the proxy can be started before what it fronts. */
export async function startTcpProxy(
  target: () => { host: string; port: number },
): Promise<TcpProxy> {
  const sockets = new Set<net.Socket>();
  const track = (socket: net.Socket): void => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  };
  let server = createServer();
  let port = 0;

  function createServer(): net.Server {
    return net.createServer((client) => {
      const { host, port: targetPort } = target();
      const upstream = net.connect(targetPort, host);
      track(client);
      track(upstream);
      client.pipe(upstream).pipe(client);
      client.on("error", () => upstream.destroy());
      upstream.on("error", () => client.destroy());
    });
  }
  const listen = (): Promise<void> =>
    new Promise((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, "127.0.0.1", () => {
        port = (server.address() as net.AddressInfo).port;
        resolve();
      });
    });
  const stop = (): Promise<void> =>
    new Promise((resolve) => {
      for (const socket of sockets) socket.destroy();
      server.close(() => resolve());
    });

  await listen();
  return {
    get port() {
      return port;
    },
    pause: stop,
    async resume() {
      server = createServer();
      await listen();
    },
    close: stop,
  };
}
