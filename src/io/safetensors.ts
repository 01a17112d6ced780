/**
 * Checkpoints in the safetensors format, so weights move between tsdeq and PyTorch
 * (`safetensors.torch.load_file` / `save_file`) unchanged:
 *   8 bytes   N, the header length (unsigned 64-bit little-endian)
 *   N bytes   UTF-8 JSON: { name: { dtype, shape, data_offsets: [begin, end] }, ...,
 *             "__metadata__"?: { string: string } }, padded with spaces to a multiple of 8
 *   rest      the tensors' bytes, little-endian, row-major; offsets are relative to here and
 *             must tile the buffer exactly.
 * Names are torch state-dict names. tsdeq tensors are F32 or F64, so those are the dtypes
 * read and written.
 */
import type { Backend } from '../backend/backend.js';
import { sizeOf } from '../backend/backend.js';
import { getBackend } from '../backend/registry.js';
import { checkKeys } from '../autograd/engine.js';
import { tensor } from '../creation.js';
import type { DType, TypedArray } from '../dtype.js';
import { Tensor, fmtShape } from '../tensor.js';
import { Module, type AnyModule, type LoadStateDictResult, type StateDict } from '../nn/module.js';

const TO_FILE: Record<DType, string> = { float32: 'F32', float64: 'F64' };
const FROM_FILE = new Map<string, DType>([['F32', 'float32'], ['F64', 'float64']]);
/** The safetensors reference implementation's cap on the header size. */
const MAX_HEADER = 100_000_000;
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

export interface SaveOptions {
  /** Free-form string metadata stored under "__metadata__" (e.g. { format: 'pt' }). */
  metadata?: Record<string, string>;
}

export interface LoadOptions {
  /** Require the file's keys to match the model's exactly (default true). */
  strict?: boolean;
}

export interface ReadOptions {
  /** Backend to create the tensors on (default: the current one). */
  backend?: Backend;
}

interface Entry { name: string; dtype: DType; shape: number[]; data: TypedArray }

function entriesOf(where: string, source: AnyModule | StateDict): [string, Tensor][] {
  if (source instanceof Module) return source.stateEntries();
  if (source === null || typeof source !== 'object' || source instanceof Tensor) {
    throw new Error(`${where}: expected a Module or a state dict (object of name -> Tensor), received ${source === null ? 'null' : source instanceof Tensor ? 'a Tensor' : typeof source}`);
  }
  const out = Object.entries(source);
  for (const [k, t] of out) {
    if (!(t instanceof Tensor)) throw new Error(`${where}: expected '${k}' to be a Tensor, received ${t === null ? 'null' : typeof t}`);
    t.assertLive(`${where} ('${k}')`);
  }
  return out;
}

function checkMetadata(where: string, metadata: unknown): Record<string, string> | undefined {
  if (metadata === undefined) return undefined;
  if (metadata === null || typeof metadata !== 'object' || Array.isArray(metadata)) {
    throw new Error(`${where}: expected option 'metadata' to be an object of strings, received ${metadata === null ? 'null' : typeof metadata}`);
  }
  for (const [k, v] of Object.entries(metadata)) {
    if (typeof v !== 'string') throw new Error(`${where}: expected metadata '${k}' to be a string, received ${typeof v}`);
  }
  return metadata as Record<string, string>;
}

/** Internal: serialises entries (data already on the host) to safetensors bytes. @example serialize([{ name: 'w', dtype: 'float32', shape: [1], data: new Float32Array([1]) }]) */
export function serialize(entries: readonly Entry[], metadata?: Record<string, string>): Uint8Array {
  // Null prototypes: a tensor named '__proto__' or 'constructor' is a name like any other.
  const header: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
  if (metadata) header.__metadata__ = Object.assign(Object.create(null) as Record<string, string>, metadata);
  let offset = 0;
  for (const e of entries) {
    if (e.name === '__metadata__') throw new Error("safetensors: the tensor name '__metadata__' is reserved");
    const bytes = e.data.length * e.data.BYTES_PER_ELEMENT;
    header[e.name] = { dtype: TO_FILE[e.dtype], shape: e.shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let json = new TextEncoder().encode(JSON.stringify(header));
  const padded = Math.ceil(json.length / 8) * 8;
  if (padded !== json.length) {
    const p = new Uint8Array(padded).fill(0x20);
    p.set(json);
    json = p;
  }
  const out = new Uint8Array(8 + json.length + offset);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  let at = 8 + json.length;
  for (const e of entries) {
    const bytes = e.data.length * e.data.BYTES_PER_ELEMENT;
    if (LITTLE_ENDIAN) {
      out.set(new Uint8Array(e.data.buffer, e.data.byteOffset, bytes), at);
    } else {
      for (let i = 0; i < e.data.length; i++) {
        if (e.dtype === 'float32') view.setFloat32(at + 4 * i, e.data[i], true);
        else view.setFloat64(at + 8 * i, e.data[i], true);
      }
    }
    at += bytes;
  }
  return out;
}

/**
 * A model's state dict (or a state dict) as safetensors bytes. Reads tensor data
 * asynchronously, so it works on every backend.
 * @example const bytes = await save(model); fs.writeFileSync('model.safetensors', bytes);
 */
export async function save(source: AnyModule | StateDict, opts: SaveOptions = {}): Promise<Uint8Array> {
  checkKeys('save', opts, ['metadata']);
  const metadata = checkMetadata('save', opts.metadata);
  const entries: Entry[] = [];
  for (const [name, t] of entriesOf('save', source)) {
    entries.push({ name, dtype: t.dtype, shape: [...t.shape], data: await t.data() });
  }
  return serialize(entries, metadata);
}

/**
 * Synchronous `save` for CPU backends (js, wasm).
 * @example const bytes = saveSync(model, { metadata: { format: 'pt' } });
 */
export function saveSync(source: AnyModule | StateDict, opts: SaveOptions = {}): Uint8Array {
  checkKeys('saveSync', opts, ['metadata']);
  const metadata = checkMetadata('saveSync', opts.metadata);
  const entries = entriesOf('saveSync', source).map(([name, t]): Entry => ({ name, dtype: t.dtype, shape: [...t.shape], data: t.dataSync() }));
  return serialize(entries, metadata);
}

/** The parsed header of a safetensors file. */
export interface SafetensorsHeader {
  metadata: Record<string, string>;
  tensors: { name: string; dtype: DType; shape: number[]; begin: number; end: number }[];
  /** Byte offset of the data buffer in the file. */
  dataStart: number;
}

/**
 * Parses and validates a safetensors header (every tensor checked, offsets must tile the
 * data buffer exactly).
 * @example parseHeader(bytes).tensors.map((t) => t.name)
 */
export function parseHeader(bytes: Uint8Array): SafetensorsHeader {
  const where = 'loadSafetensors';
  if (!(bytes instanceof Uint8Array)) {
    throw new Error(`${where}: expected the file contents as a Uint8Array, received ${bytes === null ? 'null' : typeof bytes}`);
  }
  if (bytes.length < 8) {
    throw new Error(`${where}: truncated file: expected at least 8 bytes (the header length), received ${bytes.length}`);
  }
  const n64 = new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true);
  if (n64 > BigInt(MAX_HEADER)) throw new Error(`${where}: bad header: a header length of ${n64} bytes exceeds the limit of ${MAX_HEADER}`);
  const n = Number(n64);
  if (8 + n > bytes.length) {
    throw new Error(`${where}: truncated file: the header says it is ${n} bytes long but only ${bytes.length - 8} bytes follow the length field`);
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + n));
  } catch {
    throw new Error(`${where}: bad header: it is not valid UTF-8`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new Error(`${where}: bad header: it is not valid JSON (${(e as Error).message})`);
  }
  if (json === null || typeof json !== 'object' || Array.isArray(json)) {
    throw new Error(`${where}: bad header: expected a JSON object, received ${Array.isArray(json) ? 'an array' : typeof json}`);
  }
  const dataStart = 8 + n, dataLength = bytes.length - dataStart;
  const metadata: Record<string, string> = Object.create(null) as Record<string, string>;
  const tensors: SafetensorsHeader['tensors'] = [];
  for (const [name, info] of Object.entries(json as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (info === null || typeof info !== 'object' || Array.isArray(info) || Object.values(info).some((v) => typeof v !== 'string')) {
        throw new Error(`${where}: bad header: "__metadata__" must be an object of strings`);
      }
      for (const [k, v] of Object.entries(info)) metadata[k] = v as string;
      continue;
    }
    tensors.push(parseEntry(where, name, info, dataLength));
  }
  // Offsets must tile [0, dataLength) without gaps or overlaps (as the reference reader requires).
  const sorted = [...tensors].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let cursor = 0;
  for (const t of sorted) {
    if (t.begin !== cursor) {
      throw new Error(`${where}: bad header: tensor '${t.name}' starts at byte ${t.begin} of the data buffer but the previous tensor ends at ${cursor} (${t.begin < cursor ? 'overlap' : 'gap'})`);
    }
    cursor = t.end;
  }
  if (cursor !== dataLength) {
    throw new Error(cursor < dataLength
      ? `${where}: bad file: the data buffer has ${dataLength} bytes but the tensors cover only ${cursor}`
      : `${where}: truncated file: the tensors need ${cursor} bytes of data but ${dataLength} are present`);
  }
  return { metadata, tensors, dataStart };
}

function parseEntry(where: string, name: string, info: unknown, dataLength: number): SafetensorsHeader['tensors'][number] {
  if (info === null || typeof info !== 'object' || Array.isArray(info)) {
    throw new Error(`${where}: bad header: entry '${name}' must be an object with dtype, shape and data_offsets`);
  }
  const { dtype, shape, data_offsets: offs, ...rest } = info as Record<string, unknown>;
  const extra = Object.keys(rest);
  if (extra.length) throw new Error(`${where}: bad header: entry '${name}' has unknown field(s) ${extra.map((k) => `'${k}'`).join(', ')}; expected 'dtype', 'shape', 'data_offsets'`);
  if (typeof dtype !== 'string') throw new Error(`${where}: bad header: entry '${name}' has no string 'dtype'`);
  const dt = FROM_FILE.get(dtype);
  if (!dt) {
    throw new Error(`${where}: unsupported dtype '${dtype}' for tensor '${name}'; supported dtypes are ${[...FROM_FILE.keys()].map((k) => `'${k}'`).join(', ')} (convert in PyTorch with .float() before saving)`);
  }
  if (!Array.isArray(shape) || shape.some((d) => !Number.isSafeInteger(d) || d < 0)) {
    throw new Error(`${where}: bad header: entry '${name}' has shape ${JSON.stringify(shape)}, expected an array of non-negative integers`);
  }
  if (!Array.isArray(offs) || offs.length !== 2 || offs.some((d) => !Number.isSafeInteger(d) || d < 0) || offs[0] > offs[1]) {
    throw new Error(`${where}: bad header: entry '${name}' has data_offsets ${JSON.stringify(offs)}, expected [begin, end] with 0 <= begin <= end`);
  }
  const [begin, end] = offs as number[];
  const need = sizeOf(shape) * (dt === 'float32' ? 4 : 8);
  if (end - begin !== need) {
    throw new Error(`${where}: bad header: tensor '${name}' (${dtype}, shape ${fmtShape(shape)}) needs ${need} bytes but data_offsets [${begin}, ${end}] span ${end - begin}`);
  }
  if (end > dataLength) {
    throw new Error(`${where}: truncated file: tensor '${name}' ends at byte ${end} of the data buffer but only ${dataLength} bytes are present`);
  }
  return { name, dtype: dt, shape: shape as number[], begin, end };
}

function decode(bytes: Uint8Array, at: number, count: number, dtype: DType): TypedArray {
  const size = dtype === 'float32' ? 4 : 8;
  if (LITTLE_ENDIAN) {
    // Copied into a fresh, aligned buffer: `bytes` may be a view at any offset into a larger
    // buffer (a Node Buffer from the pool), and a Buffer's slice() would not copy.
    const copy = new Uint8Array(count * size);
    copy.set(bytes.subarray(at, at + count * size));
    return dtype === 'float32' ? new Float32Array(copy.buffer) : new Float64Array(copy.buffer);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset + at, count * size);
  const out = dtype === 'float32' ? new Float32Array(count) : new Float64Array(count);
  for (let i = 0; i < count; i++) out[i] = dtype === 'float32' ? view.getFloat32(4 * i, true) : view.getFloat64(8 * i, true);
  return out;
}

/**
 * Reads every tensor of a safetensors file, keyed by name (in file order).
 * @example const sd = loadSafetensors(fs.readFileSync('model.safetensors')); // any Uint8Array view works
 */
export function loadSafetensors(bytes: Uint8Array, opts: ReadOptions = {}): Record<string, Tensor> {
  checkKeys('loadSafetensors', opts, ['backend']);
  const h = parseHeader(bytes);
  const backend = opts.backend ?? getBackend();
  const out: Record<string, Tensor> = Object.create(null) as Record<string, Tensor>;
  try {
    for (const t of h.tensors) {
      out[t.name] = tensor(decode(bytes, h.dataStart + t.begin, sizeOf(t.shape), t.dtype), t.shape, { dtype: t.dtype, backend });
    }
  } catch (e) {
    for (const t of Object.values(out)) t.dispose(); // e.g. out of memory half-way: nothing leaks
    throw e;
  }
  return out;
}

/** The free-form metadata of a safetensors file. @example readMetadata(bytes).format // 'pt' */
export function readMetadata(bytes: Uint8Array): Record<string, string> {
  return parseHeader(bytes).metadata;
}

/**
 * Loads a safetensors file into a model (copying into its own tensors). With `strict`
 * (default) the file's names must match the model's state dict exactly; shapes and dtypes
 * always must. Returns the keys that did not match.
 * @example load(model, fs.readFileSync('model.safetensors'));
 */
export function load(model: AnyModule, bytes: Uint8Array, opts: LoadOptions = {}): LoadStateDictResult {
  checkKeys('load', opts, ['strict']);
  if (!(model instanceof Module)) {
    throw new Error(`load: expected a Module as the first argument, received ${model === null ? 'null' : typeof model}`);
  }
  const first = model.stateEntries()[0]?.[1];
  const dict = loadSafetensors(bytes, first ? { backend: first.backend } : {});
  try {
    return model.loadStateDict(dict, { strict: opts.strict ?? true });
  } finally {
    for (const t of Object.values(dict)) t.dispose();
  }
}
