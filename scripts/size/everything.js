// A page that imports the whole package namespace and loads the WASM backend.
import * as T from 'tsdeq';

const info = await T.init();
globalThis.__result = { exports: Object.keys(T).length, backend: info.backend, variant: info.variant };
