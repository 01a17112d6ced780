/** Plain-text rendering of benchmark tables (aligned columns, numbers with fixed decimals). */
import type { BenchCell, BenchTable } from './registry.js';

function cellText(c: BenchCell | undefined, digits: number): string {
  if (c === null || c === undefined) return '-';
  if (typeof c === 'number') return Number.isFinite(c) ? c.toFixed(digits) : String(c);
  return c;
}

/**
 * Renders a table as Markdown-compatible aligned text (numbers with `digits` decimals).
 * @example console.log(formatTable({ title: 't', columns: ['a'], rows: [{ a: 1 }] }))
 */
export function formatTable(t: BenchTable, digits = 1): string {
  const head = t.columns;
  const body = t.rows.map((r) => head.map((c) => cellText(r[c], digits)));
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((r) => r[i].length)));
  const line = (cells: string[]): string =>
    `| ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join(' | ')} |`;
  const sep = `|${widths.map((w, i) => (i === 0 ? '-'.repeat(w + 2) : `${'-'.repeat(w + 1)}:`)).join('|')}|`;
  const out = [`### ${t.title}`, '', line(head), sep, ...body.map(line)];
  if (t.notes?.length) out.push('', ...t.notes);
  return out.join('\n');
}
