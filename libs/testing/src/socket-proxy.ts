import {
  type AddressInfo,
  createConnection,
  createServer,
  type Server,
  type Socket,
} from 'node:net';

/** Where a SocketProxy forwards to: a TCP address or a unix socket (Docker's, libvirt's). */
export type SocketAddress = { host: string; port: number } | { path: string };

/**
 * A proxy to a real dependency (PostgreSQL, Kafka, the Docker engine...) that a test can cut
 * and restore: stop() closes the listener and every open connection, as a dependency that
 * went away would; start() listens again at the same address. It listens on 127.0.0.1 (a free
 * port chosen at the first start) or, given `listenPath`, on a unix socket there.
 */
export class SocketProxy {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  private portValue = 0;

  constructor(
    private readonly target: SocketAddress,
    private readonly listenPath?: string,
  ) {}

  /** The loopback port it listens on (0 for a unix socket or before the first start). */
  get port(): number {
    return this.portValue;
  }

  /** Listens (again) at the same address. */
  async start(): Promise<this> {
    if (this.server !== undefined) return this;
    const server = createServer((client) => this.pipe(client));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      const listening = (): void => {
        server.off('error', reject);
        resolve();
      };
      if (this.listenPath === undefined) server.listen(this.portValue, '127.0.0.1', listening);
      else server.listen(this.listenPath, listening);
    });
    if (this.listenPath === undefined) this.portValue = (server.address() as AddressInfo).port;
    this.server = server;
    return this;
  }

  /** Refuses new connections (a unix socket's file is removed) and resets the open ones. */
  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
    if (server !== undefined) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private pipe(client: Socket): void {
    const upstream = createConnection(this.target);
    this.sockets.add(client);
    this.sockets.add(upstream);
    const close = (): void => {
      client.destroy();
      upstream.destroy();
      this.sockets.delete(client);
      this.sockets.delete(upstream);
    };
    client.on('error', close).on('close', close);
    upstream.on('error', close).on('close', close);
    client.pipe(upstream);
    upstream.pipe(client);
  }
}
