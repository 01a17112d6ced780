/**
 * Variational dropout layers whose masks stay fixed across solver iterations.
 */
export {
  VariationalDropoutBase, VariationalDropout, VariationalDropout1d, VariationalDropout2d, VariationalDropout3d,
  VariationalDropToken1d, VariationalDropToken2d, VariationalDropToken3d, resetDropout,
  type VariationalDropoutOptions, type VariationalDropoutNdOptions,
} from './variational.js';
