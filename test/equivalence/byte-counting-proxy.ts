/**
 * A TCP proxy that counts the bytes passing each way, so the matrix can see on the wire that a
 * message was compressed, whatever implementation sent it.
 */
import net from 'node:net';

/** A proxy on 127.0.0.1:0 forwarding every connection to 127.0.0.1:`targetPort`. */
export class ByteCountingProxy {
  /** Bytes from clients to the server since the last `reset`. */
  toServer = 0;
  /** Bytes from the server to clients since the last `reset`. */
  toClient = 0;
  private readonly sockets = new Set<net.Socket>();

  private constructor(private readonly server: net.Server) {}

  /** Starts a proxy to `targetPort`. */
  static async start(targetPort: number): Promise<ByteCountingProxy> {
    const server = net.createServer();
    const proxy = new ByteCountingProxy(server);
    server.on('connection', (client) => proxy.forward(client, targetPort));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return proxy;
  }

  /** The port clients connect to. */
  get port(): number {
    return (this.server.address() as net.AddressInfo).port;
  }

  /** Zeroes both counters. */
  reset(): void {
    this.toServer = 0;
    this.toClient = 0;
  }

  private forward(client: net.Socket, targetPort: number): void {
    const upstream = net.connect(targetPort, '127.0.0.1');
    for (const socket of [client, upstream]) {
      this.sockets.add(socket);
      // Without it, Nagle's algorithm and delayed ACKs stall small frames by tens of milliseconds.
      socket.setNoDelay(true);
      socket.on('error', () => undefined);
      socket.on('close', () => {
        this.sockets.delete(socket);
        client.destroy();
        upstream.destroy();
      });
    }
    client.on('data', (chunk: Buffer) => (this.toServer += chunk.length));
    upstream.on('data', (chunk: Buffer) => (this.toClient += chunk.length));
    client.pipe(upstream);
    upstream.pipe(client);
  }

  /** Closes the proxy and every connection through it. */
  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
