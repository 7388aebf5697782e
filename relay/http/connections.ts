/**
 * The connection cap (RELAY_MAX_CONNECTIONS), kept so a flood of idle connections cannot lock
 * new clients out: at the cap, a new connection is admitted by closing the connection idle the
 * longest (a keep-alive socket between requests, or one that has sent nothing yet); only when
 * every connection is in the middle of a request is the new one refused. One address may hold
 * at most RELAY_MAX_CONNECTIONS_PER_ADDRESS of them (its own oldest idle one goes first), except
 * a proxy named by RELAY_TRUST_PROXY, whose connections carry many clients. An idle connection
 * costs a file handle, not work; the time limits close it anyway, but a flooder reopens it.
 */
import type http from 'node:http';
import type { Socket } from 'node:net';
import { clientKey } from './failed-auth.js';

interface Tracked {
  address: string;
  /** Requests in progress on it (more than one only when a client pipelines). */
  busy: number;
}

export interface ConnectionCap {
  /** Connections open now, and how many of them are in the middle of a request. */
  readonly open: number;
  readonly busy: number;
  /** Connections closed to make room for new ones. */
  readonly evicted: number;
  /** New connections refused because every open one was busy. */
  readonly refused: number;
}

const caps = new WeakMap<http.Server, ConnectionCap>();

/** The cap kept on `server` (for the metrics and the tests). */
export const connectionCapOf = (server: http.Server): ConnectionCap | undefined => caps.get(server);

export function capConnections(server: http.Server, max: number, perAddress: number, trusted: (address: string) => boolean): ConnectionCap {
  const cap = new Cap(max, perAddress, trusted);
  // Node's own cap stays as a backstop above ours: past it, Node drops a connection before
  // anyone sees it, so ours must act first.
  server.maxConnections = max + 64;
  server.on('connection', (socket: Socket) => cap.admit(socket));
  server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => cap.serve(req.socket, res));
  caps.set(server, cap);
  return cap;
}

class Cap implements ConnectionCap {
  private readonly tracked = new Map<Socket, Tracked>();
  /** Idle connections, the longest idle first (a Set keeps insertion order). */
  private readonly idle = new Set<Socket>();
  private readonly byAddress = new Map<string, number>();
  evicted = 0;
  refused = 0;

  constructor(
    private readonly max: number,
    private readonly perAddress: number,
    private readonly trusted: (address: string) => boolean,
  ) {}

  get open(): number {
    return this.tracked.size;
  }

  get busy(): number {
    return this.tracked.size - this.idle.size;
  }

  /** A new connection: room made for it by closing the longest idle one (its address's own first, when that address holds its share), or refused. */
  admit(socket: Socket): void {
    const raw = socket.remoteAddress ?? '';
    const address = clientKey(raw);
    const full = this.perAddress > 0 && !this.trusted(raw) && (this.byAddress.get(address) ?? 0) >= this.perAddress;
    if ((full && !this.evictOldest(address)) || (this.tracked.size >= this.max && !this.evictOldest())) {
      this.refused++;
      socket.destroy();
      return;
    }
    this.tracked.set(socket, { address, busy: 0 });
    this.idle.add(socket);
    this.byAddress.set(address, (this.byAddress.get(address) ?? 0) + 1);
    socket.once('close', () => this.forget(socket, address));
  }

  /** A request on `socket`: busy until its response is done, then idle again (the newest idle). */
  serve(socket: Socket, res: http.ServerResponse): void {
    const t = this.tracked.get(socket);
    if (!t) return;
    t.busy++;
    this.idle.delete(socket);
    res.once('close', () => {
      t.busy--;
      if (t.busy === 0 && !socket.destroyed && this.tracked.has(socket)) this.idle.add(socket);
    });
  }

  private evictOldest(address?: string): boolean {
    for (const s of this.idle) {
      if (address !== undefined && this.tracked.get(s)?.address !== address) continue;
      this.idle.delete(s);
      this.evicted++;
      s.destroy();
      return true;
    }
    return false;
  }

  private forget(socket: Socket, address: string): void {
    this.tracked.delete(socket);
    this.idle.delete(socket);
    const n = (this.byAddress.get(address) ?? 1) - 1;
    if (n > 0) this.byAddress.set(address, n);
    else this.byAddress.delete(address);
  }
}
