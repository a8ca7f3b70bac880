/**
 * A stand-in for "libvirtd restarts" in tests: a UNIX socket in front of libvirtd's that can
 * drop every connection and refuse new ones (`down`), then accept again (`up`). An agent
 * connected through it sees exactly what a libvirtd restart does to a client (the socket closes,
 * reconnects fail, then succeed), while other tests on the same libvirtd are not disturbed.
 */
import net from 'node:net';
import { rm } from 'node:fs/promises';

export class LibvirtOutage {
  private server?: net.Server;
  private readonly open = new Set<net.Socket>();

  constructor(readonly path: string, private readonly target = '/var/run/libvirt/libvirt-sock') {}

  /** Accepts connections and pipes each to libvirtd's socket. */
  async up(): Promise<void> {
    await rm(this.path, { force: true });
    this.server = net.createServer((client) => {
      const upstream = net.connect(this.target);
      this.open.add(client).add(upstream);
      const close = () => {
        client.destroy();
        upstream.destroy();
        this.open.delete(client);
        this.open.delete(upstream);
      };
      client.on('error', close).on('close', close);
      upstream.on('error', close).on('close', close);
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((resolve) => this.server!.listen(this.path, resolve));
  }

  /** Drops every connection and stops accepting: as if libvirtd went away. */
  async down(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const s of this.open) s.destroy();
    this.open.clear();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
    await rm(this.path, { force: true });
  }
}
