/**
 * GPU buffer pools. Storage buffers are pooled by exact byte size (allocation on a GPU is slow
 * and asynchronous in the driver), and a buffer only returns to the pool after every command
 * that uses it has been submitted (the context hands released buffers over after its submit).
 * The pool is bounded: beyond `maxPooledBytes` released buffers are destroyed instead.
 * Readback staging buffers (MAP_READ) have a pool of their own, bounded the same way.
 */

/** Buffers of one usage, pooled by exact byte size. */
export class BufferPool {
  private readonly free = new Map<number, GPUBuffer[]>();
  private pooled = 0;
  /** Bytes of buffers handed out and not yet released. */
  inUse = 0;

  constructor(private readonly device: GPUDevice, private readonly usage: GPUBufferUsageFlags,
    private readonly maxPooledBytes: number, private readonly label: string) {}

  /** A buffer of exactly `bytes` (a multiple of 4, at least 4); `fresh` tells whether it is new (zeroed). */
  acquire(bytes: number): { buffer: GPUBuffer; fresh: boolean } {
    this.inUse += bytes;
    const list = this.free.get(bytes);
    const reused = list?.pop();
    if (reused) {
      this.pooled -= bytes;
      return { buffer: reused, fresh: false };
    }
    return { buffer: this.device.createBuffer({ size: bytes, usage: this.usage, label: this.label }), fresh: true };
  }

  /** Returns a buffer whose users have all been submitted. */
  release(buffer: GPUBuffer): void {
    const bytes = buffer.size;
    this.inUse -= bytes;
    if (this.pooled + bytes > this.maxPooledBytes) {
      buffer.destroy();
      return;
    }
    let list = this.free.get(bytes);
    if (!list) this.free.set(bytes, (list = []));
    list.push(buffer);
    this.pooled += bytes;
  }

  /** Bytes held in the pool, ready for reuse. */
  get pooledBytes(): number {
    return this.pooled;
  }

  /** Destroys every pooled buffer. */
  clear(): void {
    for (const list of this.free.values()) for (const b of list) b.destroy();
    this.free.clear();
    this.pooled = 0;
  }
}

/** Storage buffers are 4-byte aligned and never empty. */
export function storageBytes(elements: number): number {
  return Math.max(4, elements * 4);
}
