/**
 * How error messages print what a caller passed: `show` is JSON-like, but keeps the numbers
 * JSON cannot hold (`NaN`, `Infinity`, `-Infinity`, `-0`), names functions, symbols, bigints,
 * tensors and class instances, and never throws (cycles, getters that throw). `fmtBytes` and
 * `fmtCount` print sizes exactly up to 2^53 and in scientific notation past it.
 */

const MAX_ITEMS = 8;
const MAX_STRING = 60;

/**
 * A short, faithful rendering of any value for an error message.
 * @example show(NaN); // 'NaN'
 * @example show({ lr: Infinity, betas: [0.9, NaN] }); // '{"lr":Infinity,"betas":[0.9,NaN]}'
 */
export function show(v: unknown): string {
  try {
    return render(v, 0, new Set());
  } catch {
    return typeof v;
  }
}

function render(v: unknown, depth: number, seen: Set<unknown>): string {
  switch (typeof v) {
    case 'number': return Object.is(v, -0) ? '-0' : String(v);
    case 'string': return JSON.stringify(v.length > MAX_STRING ? `${v.slice(0, MAX_STRING)}...` : v);
    case 'boolean': return String(v);
    case 'undefined': return 'undefined';
    case 'bigint': return `${v}n`;
    case 'symbol': return v.toString();
    case 'function': return `a function${v.name ? ` ${v.name}` : ''}`;
    default: break;
  }
  if (v === null) return 'null';
  const o = v as object;
  if (seen.has(o)) return '[circular]';
  const ctor = Object.getPrototypeOf(o)?.constructor?.name as string | undefined;
  if (ctor === 'Tensor') {
    const t = o as { shape?: number[]; dtype?: string; isDisposed?: boolean };
    return t.isDisposed ? 'a disposed Tensor' : `a ${t.dtype} Tensor of shape [${(t.shape ?? []).join(', ')}]`;
  }
  if (ArrayBuffer.isView(o)) return `a ${ctor ?? 'typed array'} of length ${(o as { length?: number }).length ?? (o as ArrayBufferView).byteLength}`;
  if (o instanceof Promise) return 'a Promise';
  if (depth > 2) return Array.isArray(o) ? '[...]' : '{...}';
  seen.add(o);
  try {
    if (Array.isArray(o)) {
      const items = o.slice(0, MAX_ITEMS).map((x) => render(x, depth + 1, seen));
      if (o.length > MAX_ITEMS) items.push(`... ${o.length - MAX_ITEMS} more`);
      return `[${items.join(',')}]`;
    }
    if (ctor !== undefined && ctor !== 'Object') return `a ${ctor}`;
    const keys = Object.keys(o);
    const items = keys.slice(0, MAX_ITEMS).map((k) => `${JSON.stringify(k)}:${render((o as Record<string, unknown>)[k], depth + 1, seen)}`);
    if (keys.length > MAX_ITEMS) items.push(`... ${keys.length - MAX_ITEMS} more`);
    return `{${items.join(',')}}`;
  } finally {
    seen.delete(o);
  }
}

/**
 * A count printed exactly while it is a safe integer, else as `1.2e+21`.
 * @example fmtCount(1e12); // '1000000000000'
 */
export function fmtCount(n: number): string {
  return Number.isSafeInteger(n) ? String(n) : n.toPrecision(3);
}

/**
 * Bytes with a binary unit: '512 B', '2.0 GiB', '7.3 TiB', '8.0e+6 EiB' past the largest unit.
 * @example fmtBytes(2 ** 31); // '2.0 GiB'
 */
export function fmtBytes(bytes: number): string {
  if (!Number.isFinite(bytes)) return `${bytes} B`;
  if (bytes < 1023.95) return `${bytes} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB'];
  let v = bytes / 1024, u = 0;
  while (v >= 1023.95 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${v >= 1e4 ? v.toExponential(1) : v.toFixed(1)} ${units[u]}`;
}
