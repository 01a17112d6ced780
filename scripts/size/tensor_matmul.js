// A page that imports only `tensor` and `matmul` (the js backend: no init(), no WASM).
import { tensor, matmul } from 'tsdeq';

globalThis.__result = { value: matmul(tensor([[1, 2]]), tensor([[3], [4]])).toArray() };
