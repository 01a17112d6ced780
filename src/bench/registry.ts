/**
 * The benchmark sections, as a registry: each section is one file that registers itself here,
 * and `main.ts` runs the ones asked for (`--only`). A section returns tables, never prints.
 */

/** One cell of a result table: numbers are formatted by the table printer, strings kept. */
export type BenchCell = string | number | null;

/** A table of measurements. `rows` map column names to cells. */
export interface BenchTable {
  title: string;
  columns: string[];
  rows: Record<string, BenchCell>[];
  /** Lines printed under the table (units, what a ratio means, caveats). */
  notes?: string[];
}

/** Shared run settings every section receives. */
export interface BenchContext {
  /** Fewer sizes and repetitions (for smoke runs). */
  quick: boolean;
  /** Progress messages (to stderr, so `--json` output stays clean). */
  log(message: string): void;
  /** `--backend`: where sections that support it put their model (default 'wasm'). */
  backend?: 'wasm' | 'webgpu';
  /** `--offload`: deq_step keeps the model on wasm and offloads the DEQ to webgpu. */
  offload?: boolean;
}

/** A benchmark section. */
export interface BenchSection {
  name: string;
  description: string;
  run(ctx: BenchContext): Promise<BenchTable[]>;
}

const sections = new Map<string, BenchSection>();

/**
 * Adds a section (names are unique).
 * @example registerSection({ name: 'gemm', description: 'GEMM GFLOP/s', run: async () => [] })
 */
export function registerSection(section: BenchSection): void {
  if (sections.has(section.name)) throw new Error(`registerSection: section '${section.name}' is already registered`);
  sections.set(section.name, section);
}

/**
 * The section called `name`; unknown names throw, listing the known ones.
 * @example getSection('gemm')
 */
export function getSection(name: string): BenchSection {
  const s = sections.get(name);
  if (!s) throw new Error(`getSection: unknown section '${name}'; expected one of ${JSON.stringify([...sections.keys()])}`);
  return s;
}

/**
 * Every registered section, in registration order.
 * @example listSections().map((s) => s.name)
 */
export function listSections(): BenchSection[] {
  return [...sections.values()];
}
