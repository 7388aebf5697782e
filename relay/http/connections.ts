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
  const open = new Map<Socket, Tracked>();
  /** Idle connections, the longest idle first (a Map keeps insertion order). */
  const idle = new Set<Socket>();
  const byAddress = new Map<string, number>();
  const counts = { evicted: 0, refused: 0 };
  // Node's own cap stays as a backstop above ours: past it, Node drops a connection before
  // anyone sees it, so ours must act first.
  server.maxConnections = max + 64;

  const oldestIdle = (address?: string): Socket | undefined => {
    for (const s of idle) if (address === undefined || open.get(s)?.address === address) return s;
    return undefined;
  };
  const evict = (s: Socket) => {
    idle.delete(s);
    counts.evicted++;
    s.destroy();
  };

  server.on('connection', (socket: Socket) => {
    const raw = socket.remoteAddress ?? '';
    const address = clientKey(raw);
    if (perAddress > 0 && !trusted(raw) && (byAddress.get(address) ?? 0) >= perAddress) {
      const own = oldestIdle(address);
      if (!own) {
        counts.refused++;
        socket.destroy();
        return;
      }
      evict(own);
    }
    if (open.size >= max) {
      const victim = oldestIdle();
      if (!victim) {
        counts.refused++;
        socket.destroy();
        return;
      }
      evict(victim);
    }
    open.set(socket, { address, busy: 0 });
    idle.add(socket);
    byAddress.set(address, (byAddress.get(address) ?? 0) + 1);
    socket.once('close', () => {
      open.delete(socket);
      idle.delete(socket);
      const n = (byAddress.get(address) ?? 1) - 1;
      if (n > 0) byAddress.set(address, n);
      else byAddress.delete(address);
    });
  });

  server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
    const socket = req.socket;
    const t = open.get(socket);
    if (!t) return;
    t.busy++;
    idle.delete(socket);
    res.once('close', () => {
      t.busy--;
      // Idle again, now the newest idle: the longest idle go first.
      if (t.busy === 0 && !socket.destroyed && open.has(socket)) idle.add(socket);
    });
  });

  const cap: ConnectionCap = {
    get open() {
      return open.size;
    },
    get busy() {
      return open.size - idle.size;
    },
    get evicted() {
      return counts.evicted;
    },
    get refused() {
      return counts.refused;
    },
  };
  caps.set(server, cap);
  return cap;
}
