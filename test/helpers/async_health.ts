/**
 * Hooks for test files that interleave async library calls: after every case, wait `settleMs`
 * for late rejections, then fail on any unhandled rejection seen during the case and, unless
 * `globalState` is false, on grad mode left off or a tidy scope left open.
 * Call once at the top level of a test file.
 * @example expectAsyncHealth({ settleMs: 1 });
 */
import { afterAll, afterEach, beforeAll, expect } from 'vitest';
import * as T from '../../src/index.js';
import { scopes } from '../../src/scope.js';

export function expectAsyncHealth(opts: { settleMs?: number; globalState?: boolean } = {}): void {
  const { settleMs = 0, globalState = true } = opts;
  const stray: unknown[] = [];
  const probe = (e: unknown): void => { stray.push(e); };
  beforeAll(() => { process.on('unhandledRejection', probe); });
  afterAll(() => { process.off('unhandledRejection', probe); });
  afterEach(async () => {
    await new Promise<void>((r) => setTimeout(r, settleMs));
    expect(stray).toEqual([]);
    if (globalState) {
      expect(T.isGradEnabled()).toBe(true);
      expect(scopes.depth()).toBe(0);
    }
  });
}
