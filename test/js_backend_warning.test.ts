/**
 * Heavy ops before `init()` run on the `js` reference backend: one warning naming
 * `await init()`, only for heavy work, only when no backend was chosen, and only once.
 */
import { describe, it, expect, vi, afterEach } from 'vitest';
import * as T from '../src/index.js';
import { resetHeavyOpWarning } from '../src/backend/registry.js';

afterEach(() => { vi.restoreAllMocks(); });

describe('heavy ops on the js backend before init()', () => {
  it('warn once, naming await init(); small ops never warn', () => {
    resetHeavyOpWarning();
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    const small = T.randn([32, 32], { seed: 1 });
    small.matmul(small).dispose();
    expect(warn).not.toHaveBeenCalled();
    const a = T.randn([160, 160], { seed: 2 });
    a.matmul(a).dispose();
    expect(warn).toHaveBeenCalledTimes(1);
    expect(String(warn.mock.calls[0][0])).toMatch(/^matmul: running on the 'js' reference backend .*because init\(\) was never called; call `await init\(\)`/);
    a.matmul(a).dispose();
    T.linear(a, a).dispose();
    T.conv2d(T.randn([4, 16, 32, 32], { seed: 3 }), T.randn([64, 16, 3, 3], { seed: 4 })).dispose();
    expect(warn).toHaveBeenCalledTimes(1);
    // Batched products count their whole work.
    resetHeavyOpWarning();
    const b = T.randn([64, 40, 40], { seed: 5 });
    b.matmul(b).dispose();
    expect(warn).toHaveBeenCalledTimes(2);
  });

  it('no warning once a backend was chosen (setBackend, which init() calls)', async () => {
    resetHeavyOpWarning();
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    T.setBackend('js');
    const a = T.randn([200, 200], { seed: 6 });
    a.matmul(a).dispose();
    resetHeavyOpWarning();
    await T.init();
    const j = T.randn([200, 200], { seed: 7, backend: 'js' });
    j.matmul(j).dispose(); // chosen by init(): an explicit js tensor is the user's choice
    const w = T.randn([200, 200], { seed: 8 });
    w.matmul(w).dispose();
    expect(warn).not.toHaveBeenCalled();
    T.setBackend('js');
  });
});
