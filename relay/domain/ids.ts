/**
 * `evt_…`, `dlv_…`, `att_…`: 48 bits of the clock in milliseconds, then 48 bits that start
 * random each millisecond and count up within it, in 16 characters of [A-Za-z0-9_-] whose
 * byte order is their numeric order. Ids made later sort later (within one
 * process, strictly: rows made in one batch list in the order they were made), so each new row
 * goes at the right-hand end of its id index instead of on a random page: one disk page less
 * written per event and per delivery.
 */
import { randomBytes } from 'node:crypto';

const ID_POOL = 6 * 512;
let idPool = Buffer.alloc(0);
let idPoolAt = ID_POOL;
let idMs = 0;
let idTail = 0;

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const SORTED_B64 = [...B64].sort().join('');
const B64_RANK = (() => {
  const rank = new Array<number>(128).fill(0);
  for (let i = 0; i < B64.length; i++) rank[B64.charCodeAt(i)] = i;
  return rank;
})();

export const newId = (prefix: string) => {
  const now = Date.now();
  if (now > idMs) {
    // Random bits are drawn 3 KiB at a time (one call into the OS for 512 ids, not one each).
    if (idPoolAt >= ID_POOL) {
      idPool = randomBytes(ID_POOL);
      idPoolAt = 0;
    }
    idMs = now;
    idTail = Math.floor(idPool.readUIntBE(idPoolAt, 6) / 2); // 47 random bits: room to count up
    idPoolAt += 6;
  } else {
    idTail += 1; // the same millisecond (or a clock stepped back): the next id after the last
  }
  const b = Buffer.allocUnsafe(12);
  b.writeUIntBE(idMs, 0, 6);
  b.writeUIntBE(idTail % 2 ** 48, 6, 6);
  // base64url's alphabet is not in byte order (digits sort before letters): each character is
  // mapped to the one of the same rank in the sorted alphabet, so later ids also compare greater.
  const raw = b.toString('base64url');
  let out = '';
  for (let i = 0; i < raw.length; i++) out += SORTED_B64[B64_RANK[raw.charCodeAt(i)]];
  return `${prefix}_${out}`;
};

/** A secret handed out once (an API key, an inbound token): 24 random bytes, URL-safe. */
export const newSecret = () => randomBytes(24).toString('base64url');
export const newApiKey = () => `dh_${newSecret()}`;
