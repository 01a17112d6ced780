/**
 * Assertions of the error tests (errors_core, ops_errors): bad input throws a plain `Error` whose
 * message matches every given pattern (the function's name, what was expected, what was received).
 */
import { expect } from 'vitest';

/** Asserts fn throws an Error (not a TypeError from deep inside) matching every pattern. */
export function throwsWith(fn: () => unknown, ...patterns: RegExp[]): void {
  let err: unknown = null;
  try { fn(); } catch (e) { err = e; }
  expect(err, `expected a throw matching ${patterns.join(' ')}`).toBeInstanceOf(Error);
  expect((err as Error).constructor).toBe(Error);
  for (const p of patterns) expect((err as Error).message).toMatch(p);
}

/** Asserts p rejects with an Error whose message matches every pattern. */
export async function rejectsWith(p: Promise<unknown>, ...patterns: RegExp[]): Promise<void> {
  let err: unknown = null;
  try { await p; } catch (e) { err = e; }
  expect(err).toBeInstanceOf(Error);
  for (const r of patterns) expect((err as Error).message).toMatch(r);
}
