/**
 * Two small readers/rewriters of the WebAssembly binary format, for the shared-memory builds
 * of the tsdeq module (src/threads/):
 * - `memoryImportLimits`: the page limits of the module's imported memory, so that the JS side
 *   creates a `WebAssembly.Memory` the module accepts without a second copy of the numbers;
 * - `withPassiveData`: the same module with every active data segment made passive. Active
 *   segments are copied into memory on EVERY instantiation; on a shared memory that would
 *   rewrite the static data (lookup tables, and static scratch such as reduce.ts's spill area)
 *   under the main thread's feet each time a worker starts. Workers instantiate the passive
 *   copy, so only the main instance ever initialises the data.
 * Only the sections involved are parsed (import: id 2, data: id 11); the rest is copied.
 */

const IMPORT_SECTION = 2;
const DATA_SECTION = 11;

class Reader {
  pos: number;
  constructor(readonly bytes: Uint8Array, pos = 0) {
    this.pos = pos;
  }
  byte(): number {
    if (this.pos >= this.bytes.length) throw new Error('wasm binary: unexpected end of the module');
    return this.bytes[this.pos++];
  }
  u32(): number {
    let result = 0, shift = 0, b: number;
    do {
      b = this.byte();
      result += (b & 0x7f) * 2 ** shift;
      shift += 7;
    } while (b & 0x80);
    return result;
  }
  /** Skips a signed LEB128 number. */
  skipLeb(): void {
    while (this.byte() & 0x80);
  }
  skip(n: number): void {
    this.pos += n;
  }
  /** Skips a constant expression (up to and including its `end`). */
  skipConstExpr(): void {
    for (;;) {
      const op = this.byte();
      if (op === 0x0b) return;
      if (op === 0x41 || op === 0x42) this.skipLeb(); // i32.const, i64.const
      else if (op === 0x23) this.u32(); // global.get
      else if (op === 0x6a || op === 0x6b || op === 0x6c || op === 0x7c || op === 0x7d || op === 0x7e) continue; // extended-const arithmetic
      else throw new Error(`wasm binary: unsupported opcode 0x${op.toString(16)} in a data segment offset`);
    }
  }
}

function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) b |= 0x80;
    out.push(b);
  } while (n > 0);
  return out;
}

interface Section { id: number; start: number; end: number; header: number; }

function sections(bytes: Uint8Array): Section[] {
  if (bytes.length < 8 || bytes[0] !== 0 || bytes[1] !== 0x61 || bytes[2] !== 0x73 || bytes[3] !== 0x6d) {
    throw new Error('wasm binary: expected a WebAssembly module (\\0asm magic)');
  }
  const r = new Reader(bytes, 8);
  const out: Section[] = [];
  while (r.pos < bytes.length) {
    const header = r.pos;
    const id = r.byte();
    const size = r.u32();
    out.push({ id, header, start: r.pos, end: r.pos + size });
    r.skip(size);
  }
  return out;
}

/**
 * Limits (in 64 KiB pages) of the memory the module imports, or null when it imports none.
 * @example memoryImportLimits(bytes); // { initial: 1, maximum: 65536, shared: true }
 */
export function memoryImportLimits(bytes: Uint8Array): { initial: number; maximum: number | null; shared: boolean } | null {
  for (const s of sections(bytes)) {
    if (s.id !== IMPORT_SECTION) continue;
    const r = new Reader(bytes, s.start);
    const count = r.u32();
    for (let i = 0; i < count; i++) {
      r.skip(r.u32()); // module name
      r.skip(r.u32()); // field name
      const kind = r.byte();
      if (kind === 0x00) r.u32(); // function: type index
      else if (kind === 0x01) { r.byte(); readLimits(r); } // table: element type, limits
      else if (kind === 0x03) { r.byte(); r.byte(); } // global: value type, mutability
      else if (kind === 0x04) { r.byte(); r.u32(); } // tag: attribute, type index
      else if (kind === 0x02) return readLimits(r);
      else throw new Error(`wasm binary: unknown import kind ${kind}`);
    }
  }
  return null;
}

function readLimits(r: Reader): { initial: number; maximum: number | null; shared: boolean } {
  const flags = r.byte();
  const initial = r.u32();
  const maximum = flags & 1 ? r.u32() : null;
  return { initial, maximum, shared: (flags & 2) !== 0 };
}

/**
 * A copy of the module whose active data segments are passive (never applied at
 * instantiation). Code, functions and segment indices are unchanged.
 * @example const workerBytes = withPassiveData(bytes);
 */
export function withPassiveData(bytes: Uint8Array): Uint8Array {
  const data = sections(bytes).find((s) => s.id === DATA_SECTION);
  if (data === undefined) return bytes.slice();
  const r = new Reader(bytes, data.start);
  const count = r.u32();
  const body: number[] = uleb(count);
  const chunks: Uint8Array[] = [];
  let pending = body;
  for (let i = 0; i < count; i++) {
    const flag = r.u32();
    if (flag === 2) r.u32(); // explicit memory index
    if (flag === 0 || flag === 2) r.skipConstExpr();
    else if (flag !== 1) throw new Error(`wasm binary: unknown data segment kind ${flag}`);
    const len = r.u32();
    pending.push(1, ...uleb(len)); // passive: flag 1, then the bytes
    chunks.push(Uint8Array.from(pending));
    chunks.push(bytes.subarray(r.pos, r.pos + len));
    pending = [];
    r.skip(len);
  }
  if (r.pos !== data.end) throw new Error('wasm binary: the data section has trailing bytes');
  const payload = chunks.reduce((n, c) => n + c.length, 0) + pending.length;
  const head = Uint8Array.from([DATA_SECTION, ...uleb(payload)]);
  const out = new Uint8Array(data.header + head.length + payload + (bytes.length - data.end));
  out.set(bytes.subarray(0, data.header), 0);
  let o = data.header;
  out.set(head, o);
  o += head.length;
  for (const c of chunks) {
    out.set(c, o);
    o += c.length;
  }
  out.set(Uint8Array.from(pending), o);
  o += pending.length;
  out.set(bytes.subarray(data.end), o);
  return out;
}
