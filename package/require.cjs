// tsdeq is an ES module package. This file answers `require('tsdeq')` on Node versions that
// cannot load ES modules from require (Node < 20.19, or with --no-experimental-require-module);
// where require(esm) works (Node >= 20.19 / 22.12) the "module-sync" condition loads the module.
throw Object.assign(new Error(
  "tsdeq is ESM-only: use `import { init } from 'tsdeq'` (or `const tsdeq = await import('tsdeq')` " +
  'from CommonJS code); Node >= 20.19 and >= 22.12 can also require() it.'), { code: 'ERR_REQUIRE_ESM' });
