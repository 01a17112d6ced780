/**
 * Backtracking line search with the Armijo (sufficient decrease) condition, using a quadratic
 * then cubic interpolant of phi(a) = ||g(x + a d)||^2 to propose step lengths — the search
 * TorchDEQ's Broyden solver runs when `ls=True` (adapted there from SciPy's
 * `scalar_search_armijo`). One step length for the whole batch: phi uses the norm over all
 * samples.
 *
 * Reference: J. Nocedal & S. Wright, "Numerical Optimization" (2nd ed.), section 3.5.
 */

/**
 * Finds a step length a with phi(a) <= phi0 + c1 a derphi0, starting at `a0`, backtracking
 * while a > `amin`. Returns null if no step length is found.
 * @example await armijo(async (a) => (1 - a) ** 2, 1, -2) // 1
 */
export async function armijo(phi: (a: number) => Promise<number>, phi0: number, derphi0: number,
  c1 = 1e-4, a0 = 1, amin = 0): Promise<number | null> {
  const phiA0 = await phi(a0);
  if (phiA0 <= phi0 + c1 * a0 * derphi0) return a0;
  // Minimiser of the quadratic through phi0, derphi0 and phi(a0).
  let a1 = -derphi0 * a0 * a0 / 2 / (phiA0 - phi0 - derphi0 * a0);
  let phiA1 = await phi(a1);
  let aPrev = a0, phiPrev = phiA0;
  while (a1 > amin) {
    // Minimiser of the cubic through phi0, derphi0, phi(aPrev) and phi(a1).
    const factor = aPrev * aPrev * a1 * a1 * (a1 - aPrev);
    const r1 = phiA1 - phi0 - derphi0 * a1;
    const r0 = phiPrev - phi0 - derphi0 * aPrev;
    const ca = (aPrev * aPrev * r1 - a1 * a1 * r0) / factor;
    const cb = (-aPrev * aPrev * aPrev * r1 + a1 * a1 * a1 * r0) / factor;
    let a2 = (-cb + Math.sqrt(Math.abs(cb * cb - 3 * ca * derphi0))) / (3 * ca);
    const phiA2 = await phi(a2);
    if (phiA2 <= phi0 + c1 * a2 * derphi0) return a2;
    // Safeguard: do not shrink by less than 4% or by more than half.
    if (a1 - a2 > a1 / 2 || 1 - a2 / a1 < 0.96) a2 = a1 / 2;
    aPrev = a1;
    a1 = a2;
    phiPrev = phiA1;
    phiA1 = phiA2;
  }
  return null;
}
