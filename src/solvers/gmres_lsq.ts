/**
 * The small least-squares side of GMRES, per sample on the host: the Hessenberg matrix of the
 * Arnoldi process reduced to triangular form by Givens rotations as columns arrive, the
 * rotated right-hand side (whose last entry is the residual norm), and the coefficient
 * vectors of the iterate and of its residual in the Krylov basis.
 */

/** One sample's Arnoldi least-squares problem min ||beta e1 - Hbar y|| for up to `m` columns. */
export class HessenbergLsq {
  /** Columns accepted so far (the size of the Krylov space used). */
  k = 0;
  /** No more columns are accepted (happy breakdown, singular column, or beta = 0). */
  frozen = false;
  private readonly r: Float64Array; // (m + 1) x m, row-major; upper triangular after rotations
  private readonly cs: Float64Array;
  private readonly sn: Float64Array;
  private readonly g: Float64Array; // rotated right-hand side, length m + 1

  constructor(private readonly m: number, beta: number) {
    this.r = new Float64Array((m + 1) * m);
    this.cs = new Float64Array(m);
    this.sn = new Float64Array(m);
    this.g = new Float64Array(m + 1);
    this.g[0] = beta;
    if (!(beta > 0)) this.frozen = true;
  }

  /**
   * Adds Arnoldi column j = k: `h[0..k]` (projections) and `hNext` (norm of the rest). With
   * `breakdown` the Krylov space is exhausted: the column is used and no further one is.
   */
  addColumn(h: ArrayLike<number>, hNext: number, breakdown: boolean): void {
    if (this.frozen) return;
    const { r, cs, sn, m } = this;
    const j = this.k;
    const col = new Float64Array(j + 2);
    for (let i = 0; i <= j; i++) col[i] = h[i];
    col[j + 1] = hNext;
    for (let i = 0; i < j; i++) {
      const a = cs[i] * col[i] + sn[i] * col[i + 1];
      col[i + 1] = -sn[i] * col[i] + cs[i] * col[i + 1];
      col[i] = a;
    }
    const rho = Math.hypot(col[j], col[j + 1]);
    if (!(rho > 0) || !Number.isFinite(rho)) {
      // A v_j = 0 within the space: the column adds nothing; keep the current solution.
      this.frozen = true;
      return;
    }
    cs[j] = col[j] / rho;
    sn[j] = col[j + 1] / rho;
    col[j] = rho;
    col[j + 1] = 0;
    for (let i = 0; i <= j; i++) r[i * m + j] = col[i];
    this.g[j + 1] = -sn[j] * this.g[j];
    this.g[j] = cs[j] * this.g[j];
    this.k = j + 1;
    if (breakdown) this.frozen = true;
  }

  /** Norm of the residual of the current least-squares solution (|last rotated rhs|). */
  residual(): number {
    return Math.abs(this.g[this.k]);
  }

  /** y solving R y = g[0..k) by back substitution, written to out[0..k), zeros up to `len`. */
  solution(out: Float64Array, offset: number, len: number): void {
    const { r, m, k, g } = this;
    for (let i = k; i < len; i++) out[offset + i] = 0;
    for (let i = k - 1; i >= 0; i--) {
      let acc = g[i];
      for (let c = i + 1; c < k; c++) acc -= r[i * m + c] * out[offset + c];
      out[offset + i] = acc / r[i * m + i];
    }
  }

  /**
   * For an affine map, f(x) - x0 = V (y + t) with x = x0 + V y and t = Q^T (0, .., 0, g_k) the
   * residual's coefficients in the basis v_0..v_k: adds t to out[0..k] (out holds y, zero-padded).
   */
  addResidualCoefficients(out: Float64Array, offset: number): void {
    const { cs, sn, k } = this;
    const t = new Float64Array(k + 1);
    t[k] = this.g[k];
    for (let i = k - 1; i >= 0; i--) {
      const a = cs[i] * t[i] - sn[i] * t[i + 1];
      t[i + 1] = sn[i] * t[i] + cs[i] * t[i + 1];
      t[i] = a;
    }
    for (let i = 0; i <= k; i++) out[offset + i] += t[i];
  }
}
