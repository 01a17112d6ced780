/**
 * Executes the README's runnable code blocks against src, so the documented examples stay true.
 *
 * A block is runnable when its info string is `js runnable` or `ts runnable`. Its
 * `import { ... } from 'tsdeq'` lines are bound to this repository's src/index.ts, it runs as
 * an async function (top-level await allowed), and every `console.log(...)` line that ends in
 * `// → <JSON>` must print that value (numbers compared to the digits written).
 * Every TypeScript block (runnable or not) must also type-check with tsc under `strict`.
 */
import { describe, it, expect } from 'vitest';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { spawnSync } from 'node:child_process';
import { transform } from 'esbuild';
import * as T from '../src/index.js';

interface Block { lang: string; code: string; line: number; }

const readme = readFileSync(resolve(__dirname, '..', 'README.md'), 'utf8');

function runnableBlocks(md: string): Block[] {
  const out: Block[] = [];
  const re = /^```(js|ts|javascript|typescript)[ \t]+runnable[ \t]*\n([\s\S]*?)^```[ \t]*$/gm;
  for (let m = re.exec(md); m; m = re.exec(md)) {
    out.push({ lang: m[1], code: m[2], line: md.slice(0, m.index).split('\n').length });
  }
  return out;
}

/** Rewrites imports of 'tsdeq' into destructurings of the injected namespace `__tsdeq`. */
function bindImports(code: string): string {
  for (const m of code.matchAll(/^import\s+\{([^}]*)\}\s+from\s+['"]tsdeq['"]/gm)) {
    for (const raw of m[1].split(',')) {
      const name = raw.trim().split(/\s+as\s+/)[0];
      if (name && !name.startsWith('type ') && !(name in T)) throw new Error(`README imports '${name}' from tsdeq, which src/index.ts does not export`);
    }
  }
  return code
    .replace(/^import\s+\*\s+as\s+(\w+)\s+from\s+['"]tsdeq['"];?/gm, 'const $1 = __tsdeq;')
    .replace(/^import\s+(type\s+)?\{([^}]*)\}\s+from\s+['"]tsdeq['"];?/gm, (_m, typeOnly: string | undefined, names: string) => {
      if (typeOnly) return '';
      const parts = names.split(',').map((s) => s.trim()).filter((s) => s && !s.startsWith('type '));
      return `const { ${parts.map((p) => p.replace(/\s+as\s+/, ': ')).join(', ')} } = __tsdeq;`;
    });
}

interface Expectation { value: unknown; tol: number | null; }

/** The `// → value` (optionally `// → value ±tol`) expectations, in order, of console.log lines. */
function expectations(code: string): Expectation[] {
  const out: Expectation[] = [];
  for (const line of code.split('\n')) {
    const m = /console\.log\(.*\/\/\s*→\s*(.+?)(?:\s+±\s*([0-9.eE+-]+))?\s*$/.exec(line);
    if (m) out.push({ value: JSON.parse(m[1]), tol: m[2] === undefined ? null : Number(m[2]) });
  }
  return out;
}

/**
 * Deep equality where a written number matches the printed one to the digits written (or
 * within the stated ±tol).
 */
function matches(got: unknown, want: unknown, tol: number | null, path = '$'): string | null {
  if (typeof want === 'number') {
    if (typeof got !== 'number') return `${path}: expected a number ${want}, got ${JSON.stringify(got)}`;
    const t = tol ?? 0.5 * 10 ** -((String(want).split('.')[1] ?? '').length) + 1e-12;
    return Math.abs(got - want) <= t ? null : `${path}: expected ${want} (±${t}), got ${got}`;
  }
  if (Array.isArray(want)) {
    if (!Array.isArray(got) || got.length !== want.length) return `${path}: expected ${JSON.stringify(want)}, got ${JSON.stringify(got)}`;
    for (let i = 0; i < want.length; i++) {
      const e = matches(got[i], want[i], tol, `${path}[${i}]`);
      if (e) return e;
    }
    return null;
  }
  return JSON.stringify(got) === JSON.stringify(want) ? null : `${path}: expected ${JSON.stringify(want)}, got ${JSON.stringify(got)}`;
}

const AsyncFunction = Object.getPrototypeOf(async () => {}).constructor as new (...args: string[]) => (...a: unknown[]) => Promise<void>;

describe('README runnable examples', () => {
  const blocks = runnableBlocks(readme);

  it('the README has runnable blocks, the quick start among them', () => {
    expect(blocks.length).toBeGreaterThanOrEqual(3);
    expect(readme).toMatch(/## Quick start\n[\s\S]*?```ts runnable/);
  });

  it('the README starts with the two commands block', () => {
    expect(readme.startsWith('# tsdeq\n\n```sh\nnpm ci && npm run demo\nnpm test\n```\n')).toBe(true);
  });

  for (const b of blocks) {
    it(`block at README.md line ${b.line} runs and prints what it says`, async () => {
      const bound = bindImports(b.code);
      expect(bound, 'runnable blocks import from tsdeq only').not.toMatch(/^import\s/m);
      const js = (await transform(bound, { loader: b.lang.startsWith('t') ? 'ts' : 'js', format: undefined })).code;
      const printed: unknown[] = [];
      const fakeConsole = { ...console, log: (...args: unknown[]) => { printed.push(args.length === 1 ? args[0] : args); } };
      const fn = new AsyncFunction('__tsdeq', 'console', js);
      try {
        await T.tidy(() => fn(T, fakeConsole));
      } finally {
        T.setBackend('js'); // every block starts on the default backend, even after init()
      }
      const want = expectations(b.code);
      expect(want.length, 'each runnable block states at least one printed value').toBeGreaterThan(0);
      expect(printed.length).toBe(want.length);
      want.forEach((w, i) => {
        const err = matches(JSON.parse(JSON.stringify(printed[i]) ?? 'null'), w.value, w.tol, `log ${i}`);
        expect(err).toBeNull();
      });
    });
  }
});

/** Every ```ts block (runnable or not), with its line. */
function typescriptBlocks(md: string): Block[] {
  const out: Block[] = [];
  const re = /^```(ts|typescript)([ \t]+runnable)?[ \t]*\n([\s\S]*?)^```[ \t]*$/gm;
  for (let m = re.exec(md); m; m = re.exec(md)) out.push({ lang: m[1], code: m[3], line: md.slice(0, m.index).split('\n').length });
  return out;
}

/** The `types` of the project's tsconfig (node, @webgpu/types, ...), so blocks see what src sees. */
function projectTypes(root: string): string[] {
  const cfg = JSON.parse(readFileSync(join(root, 'tsconfig.json'), 'utf8')) as { compilerOptions?: { types?: string[] } };
  return cfg.compilerOptions?.types ?? ['node'];
}

describe('README TypeScript examples', () => {
  it('every TypeScript block type-checks under strict (tsc, tsdeq bound to src)', () => {
    const root = resolve(__dirname, '..');
    // Inside the repository, so imports of other packages (webgpu) resolve from its node_modules.
    const dir = join(root, 'node_modules', '.cache', 'tsdeq-readme-tsc');
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    const blocks = typescriptBlocks(readme);
    expect(blocks.length).toBeGreaterThanOrEqual(10);
    const files = blocks.map((b) => {
      const name = `readme_line_${b.line}.ts`;
      writeFileSync(join(dir, name), `${b.code}\nexport {};\n`);
      return name;
    });
    writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({
      compilerOptions: {
        target: 'ES2022', module: 'ESNext', moduleResolution: 'Bundler', strict: true, noEmit: true,
        skipLibCheck: true, lib: ['ES2022', 'DOM'], types: projectTypes(root),
        paths: { tsdeq: [join(root, 'src', 'index.ts')] },
      },
      files,
    }));
    const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
    const r = spawnSync(process.execPath, [tsc, '-p', join(dir, 'tsconfig.json')], { encoding: 'utf8', timeout: 240_000 });
    const report = (r.stdout + r.stderr).replace(/readme_line_(\d+)\.ts\((\d+),/g, (_m, l: string, at: string) => `README.md block at line ${l}, its line ${at} (`);
    expect(r.status, report).toBe(0);
    rmSync(dir, { recursive: true, force: true });
  }, 300_000);
});
