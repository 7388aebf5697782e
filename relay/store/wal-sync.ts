import { open, type FileHandle } from 'node:fs/promises';
import path from 'node:path';

/**
 * Makes SQLite's committed writes durable off the event loop. SQLite's own `synchronous=FULL`
 * calls fdatasync on the write-ahead log inside COMMIT, which blocks the one thread that also
 * parses every request for about half a millisecond per commit. Here COMMIT only writes the log
 * (`synchronous=NORMAL`), and the fdatasync of the same file runs in libuv's thread pool; a
 * transaction's promise resolves only after an fdatasync that began after its COMMIT, so an
 * ack still means the event is on disk. Commits that arrive while one fdatasync runs share the
 * next one (group commit).
 */
export class WalSync {
  private file: FileHandle | null = null;
  private inflight: Promise<void> | null = null;
  private queued: Promise<void> | null = null;

  constructor(private readonly walPath: string) {}

  /** Resolves once everything written before this call is on disk. */
  sync(): Promise<void> {
    if (this.queued) return this.queued;
    if (!this.inflight) return (this.inflight = this.flush());
    // The one in flight may have begun before the caller's write: ride the next one.
    this.queued = this.inflight
      .catch(() => undefined)
      .then(() => {
        this.queued = null;
        return (this.inflight = this.flush());
      });
    return this.queued;
  }

  /**
   * Resolves once the syncs already asked for are done, starting none: what a read saw was
   * committed before one of them was asked for, so it is on disk once they are.
   */
  settled(): Promise<void> {
    return (this.queued ?? this.inflight ?? Promise.resolve()).catch(() => undefined);
  }

  private flush(): Promise<void> {
    const p: Promise<void> = (async () => {
      if (!this.file) {
        this.file = await open(this.walPath, 'r');
        // The log's directory entry must survive a power cut too: sync the folder once.
        const dir = await open(path.dirname(this.walPath), 'r');
        try {
          await dir.sync();
        } finally {
          await dir.close();
        }
      }
      await this.file.datasync();
    })().finally(() => {
      if (this.inflight === p) this.inflight = null;
    });
    return p;
  }

  async close(): Promise<void> {
    await this.queued?.catch(() => undefined);
    await this.inflight?.catch(() => undefined);
    await this.file?.close();
    this.file = null;
  }
}
