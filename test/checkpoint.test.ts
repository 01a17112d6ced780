import { describe, it, expect } from 'vitest';
import * as T from '../src/index.js';
import { Linear, Sequential, Tanh, Module } from '../src/nn/index.js';
import { save, saveSync, load, loadSafetensors, readMetadata, parseHeader } from '../src/io/safetensors.js';
import { JsBackend } from '../src/backend/js.js';

const f64 = { dtype: 'float64' as const };

/**
 * A tiny independent safetensors writer, laid out as the Python `safetensors` package writes
 * a PyTorch state dict: tensors ordered by dtype (descending) then name, compact JSON, header
 * padded with spaces to a multiple of 8, little-endian data.
 */
function pytorchStyleFile(tensors: Record<string, { dtype: 'F32' | 'F64'; shape: number[]; values: number[] }>, metadata?: Record<string, string>): Uint8Array {
  const names = Object.keys(tensors).sort((a, b) => (tensors[a].dtype === tensors[b].dtype ? (a < b ? -1 : 1) : tensors[a].dtype === 'F64' ? -1 : 1));
  const header: Record<string, unknown> = metadata ? { __metadata__: metadata } : {};
  let offset = 0;
  for (const n of names) {
    const size = tensors[n].dtype === 'F32' ? 4 : 8;
    const bytes = tensors[n].values.length * size;
    header[n] = { dtype: tensors[n].dtype, shape: tensors[n].shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let json = JSON.stringify(header);
  while (json.length % 8 !== 0) json += ' ';
  const out = new Uint8Array(8 + json.length + offset);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, json.length, true); // high 32 bits stay 0
  for (let i = 0; i < json.length; i++) out[8 + i] = json.charCodeAt(i);
  let at = 8 + json.length;
  for (const n of names) {
    for (const v of tensors[n].values) {
      if (tensors[n].dtype === 'F32') { dv.setFloat32(at, v, true); at += 4; } else { dv.setFloat64(at, v, true); at += 8; }
    }
  }
  return out;
}

const mlp = (seed: number, dtype: 'float32' | 'float64' = 'float32'): Sequential =>
  new Sequential(new Linear(2, 3, { seed, dtype }), new Tanh(), new Linear(3, 1, { seed: seed + 1, dtype }));

describe('safetensors checkpoints', () => {
  it('round trip: save -> load into a fresh model -> identical outputs', async () => {
    const a = mlp(0), b = mlp(100);
    const x = T.tensor([[0.5, -1], [2, 0.25], [0, 0]]);
    expect(Array.from(b.forward(x).dataSync())).not.toEqual(Array.from(a.forward(x).dataSync()));
    const bytes = await save(a, { metadata: { format: 'pt', step: '200' } });
    const res = load(b, bytes);
    expect(res).toEqual({ missingKeys: [], unexpectedKeys: [] });
    expect(Array.from(b.forward(x).dataSync())).toEqual(Array.from(a.forward(x).dataSync()));
    expect(readMetadata(bytes)).toEqual({ format: 'pt', step: '200' });
    expect(Array.from(saveSync(a, { metadata: { format: 'pt', step: '200' } }))).toEqual(Array.from(bytes));
  });

  it('writes the documented layout (LE length, space-padded JSON, contiguous offsets, LE data)', () => {
    const sd = { w: T.tensor([[1, 2], [3, 4]], undefined, f64), b: T.tensor([0.5]) };
    const bytes = saveSync(sd);
    const dv = new DataView(bytes.buffer);
    const n = Number(dv.getBigUint64(0, true));
    expect(n % 8).toBe(0);
    const text = new TextDecoder().decode(bytes.subarray(8, 8 + n));
    expect(text.trimEnd()).toBe('{"w":{"dtype":"F64","shape":[2,2],"data_offsets":[0,32]},"b":{"dtype":"F32","shape":[1],"data_offsets":[32,36]}}');
    expect(/^ *$/.test(text.slice(text.trimEnd().length))).toBe(true);
    expect(bytes.length).toBe(8 + n + 36);
    expect([0, 1, 2, 3].map((i) => dv.getFloat64(8 + n + 8 * i, true))).toEqual([1, 2, 3, 4]);
    expect(dv.getFloat32(8 + n + 32, true)).toBe(0.5);
  });

  it('loads a file written the way PyTorch writes it, with correct values', () => {
    // torch.nn.Sequential(Linear(2, 3), Tanh(), Linear(3, 1)).state_dict() names.
    const w0 = [0.1, -0.2, 0.3, 0.4, -0.5, 0.6], b0 = [0.01, 0.02, -0.03], w2 = [1.5, -2, 0.25], b2 = [0.125];
    const bytes = pytorchStyleFile({
      '0.weight': { dtype: 'F32', shape: [3, 2], values: w0 },
      '0.bias': { dtype: 'F32', shape: [3], values: b0 },
      '2.weight': { dtype: 'F32', shape: [1, 3], values: w2 },
      '2.bias': { dtype: 'F32', shape: [1], values: b2 },
    }, { format: 'pt' });
    const model = mlp(7);
    load(model, bytes);
    expect(Array.from(model.getModule('0')!.tensor('weight').dataSync())).toEqual(w0.map(Math.fround));
    expect(model.getModule('2')!.tensor('weight').shape).toEqual([1, 3]);
    // Forward by hand in float64 from the float32-rounded weights.
    const x = [0.7, -1.3];
    const f = w0.map(Math.fround), c = b0.map(Math.fround), g = w2.map(Math.fround);
    const h = [0, 1, 2].map((o) => Math.tanh(f[2 * o] * x[0] + f[2 * o + 1] * x[1] + c[o]));
    const want = h.reduce((s, v, o) => s + g[o] * v, Math.fround(b2[0]));
    expect(model.forward(T.tensor([x])).item()).toBeCloseTo(want, 6);
    const raw = loadSafetensors(bytes);
    expect(Object.keys(raw).sort()).toEqual(['0.bias', '0.weight', '2.bias', '2.weight']);
    expect(raw['2.bias'].dtype).toBe('float32');
  });

  it('reads F64, scalars and empty tensors, and keeps file names', () => {
    const bytes = pytorchStyleFile({
      scale: { dtype: 'F64', shape: [], values: [Math.PI] },
      empty: { dtype: 'F32', shape: [0, 4], values: [] },
      v: { dtype: 'F64', shape: [2], values: [1e-300, -2.5] },
    });
    const sd = loadSafetensors(bytes);
    expect(sd.scale.shape).toEqual([]);
    expect(sd.scale.item()).toBe(Math.PI);
    expect(sd.empty.shape).toEqual([0, 4]);
    expect(Array.from(sd.v.dataSync())).toEqual([1e-300, -2.5]);
    const back = loadSafetensors(saveSync(sd));
    expect(back.scale.item()).toBe(Math.PI);
    expect(back.v.dtype).toBe('float64');
  });

  it('tensors read onto another backend load into a model across backends', () => {
    const other = new JsBackend();
    const a = mlp(3), b = mlp(4);
    const sd = loadSafetensors(saveSync(a), { backend: other });
    expect(sd['0.weight'].backend).toBe(other);
    b.loadStateDict(sd);
    expect(b.getModule('0')!.tensor('weight').backend).not.toBe(other);
    const x = T.tensor([[1, 2]]);
    expect(Array.from(b.forward(x).dataSync())).toEqual(Array.from(a.forward(x).dataSync()));
    expect(() => loadSafetensors(saveSync(a), { device: 'cpu' } as never)).toThrow(/loadSafetensors: unknown option 'device'; valid options are 'backend'/);
  });

  it('strict and non-strict loading through the model', () => {
    const m = mlp(1);
    const full = saveSync(m);
    const part = saveSync({ '0.weight': m.getModule('0')!.tensor('weight'), extra: T.zeros([2]) });
    expect(() => load(m, part)).toThrow(/Sequential.loadStateDict: error\(s\) loading the state dict \(nothing was loaded\):\n {2}unexpected keys: 'extra'\n {2}missing keys: '0.bias', '2.weight', '2.bias'/);
    expect(load(m, part, { strict: false })).toEqual({ missingKeys: ['0.bias', '2.weight', '2.bias'], unexpectedKeys: ['extra'] });
    const wide = saveSync(new Sequential(new Linear(2, 4), new Tanh(), new Linear(4, 1)));
    expect(() => load(m, wide)).toThrow(/shape mismatch for '0.weight': the model has \[3, 2\], the state dict has \[4, 2\]/);
    expect(() => load(mlp(1, 'float64'), full)).toThrow(/dtype mismatch for '0.weight': the model has float64, the state dict has float32/);
    expect(() => load(m, full, { strict: 'yes' } as never)).toThrow(/Sequential.loadStateDict: expected option 'strict' to be a boolean, received "yes"/);
    expect(() => load(m, full, { strcit: true } as never)).toThrow(/load: unknown option 'strcit'; valid options are 'strict'/);
    expect(() => load({} as never, full)).toThrow(/load: expected a Module as the first argument, received object/);
  });

  it('names what is wrong with a bad file', () => {
    const good = pytorchStyleFile({ a: { dtype: 'F32', shape: [2], values: [1, 2] } });
    expect(() => loadSafetensors(good.subarray(0, 5))).toThrow(/loadSafetensors: truncated file: expected at least 8 bytes \(the header length\), received 5/);
    expect(() => loadSafetensors(good.subarray(0, 20))).toThrow(/loadSafetensors: truncated file: the header says it is \d+ bytes long but only 12 bytes follow/);
    expect(() => loadSafetensors(good.subarray(0, good.length - 3))).toThrow(/loadSafetensors: truncated file: tensor 'a' ends at byte 8 of the data buffer but only 5 bytes are present/);
    const withJson = (text: string, data = 0): Uint8Array => {
      const out = new Uint8Array(8 + text.length + data);
      new DataView(out.buffer).setUint32(0, text.length, true);
      for (let i = 0; i < text.length; i++) out[8 + i] = text.charCodeAt(i);
      return out;
    };
    expect(() => loadSafetensors(withJson('{"a": '))).toThrow(/loadSafetensors: bad header: it is not valid JSON/);
    expect(() => loadSafetensors(withJson('[1, 2]'))).toThrow(/bad header: expected a JSON object, received an array/);
    expect(() => loadSafetensors(withJson('{"a":{"dtype":"F16","shape":[2],"data_offsets":[0,4]}}', 4)))
      .toThrow(/loadSafetensors: unsupported dtype 'F16' for tensor 'a'; supported dtypes are 'F32', 'F64'/);
    expect(() => loadSafetensors(withJson('{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}', 8)))
      .toThrow(/bad header: tensor 'a' \(F32, shape \[3\]\) needs 12 bytes but data_offsets \[0, 8\] span 8/);
    expect(() => loadSafetensors(withJson('{"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}', 4)))
      .toThrow(/entry 'a' has shape \[-1\], expected an array of non-negative integers/);
    expect(() => loadSafetensors(withJson('{"a":{"dtype":"F32","shape":[1],"offsets":[0,4]}}', 4)))
      .toThrow(/entry 'a' has unknown field\(s\) 'offsets'; expected 'dtype', 'shape', 'data_offsets'/);
    expect(() => loadSafetensors(withJson('{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}', 4)))
      .toThrow(/tensor 'b' starts at byte 0 of the data buffer but the previous tensor ends at 4 \(overlap\)/);
    expect(() => loadSafetensors(withJson('{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}', 12)))
      .toThrow(/bad file: the data buffer has 12 bytes but the tensors cover only 4/);
    expect(() => loadSafetensors(withJson('{"__metadata__":{"n":1}}'))).toThrow(/"__metadata__" must be an object of strings/);
    const huge = new Uint8Array(16);
    new DataView(huge.buffer).setBigUint64(0, 2n ** 40n, true);
    expect(() => loadSafetensors(huge)).toThrow(/bad header: a header length of 1099511627776 bytes exceeds the limit/);
    expect(() => loadSafetensors('abc' as never)).toThrow(/loadSafetensors: expected the file contents as a Uint8Array, received string/);
    expect(() => parseHeader(withJson('{}'))).not.toThrow();
  });

  it('save rejects what it cannot write', async () => {
    await expect(save({ w: 3 } as never)).rejects.toThrow(/save: expected 'w' to be a Tensor, received number/);
    await expect(save(T.zeros([2]) as never)).rejects.toThrow(/save: expected a Module or a state dict \(object of name -> Tensor\), received a Tensor/);
    expect(() => saveSync({ w: T.zeros([1]) }, { metadata: { step: 3 } as never })).toThrow(/saveSync: expected metadata 'step' to be a string, received number/);
    expect(() => saveSync({ __metadata__: T.zeros([1]) })).toThrow(/the tensor name '__metadata__' is reserved/);
    class Empty extends Module { forward(x: T.Tensor): T.Tensor { return x; } }
    expect(loadSafetensors(saveSync(new Empty()))).toEqual({});
  });
});
