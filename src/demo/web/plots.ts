/**
 * The playground's plots, drawn on canvas (no plotting library: the page needs line charts
 * with a log axis, a histogram, a stacked bar and an image grid, about 200 lines in all, while
 * a library such as uPlot covers only the line charts and adds a dependency and ~20 KB).
 * Every function redraws its canvas completely, sized to the canvas's CSS box and the
 * device pixel ratio.
 */

export interface Series {
  label: string;
  color: string;
  /** Points [x, y]; NaN and non-finite y values (or y <= 0 on a log axis) are skipped. */
  points: [number, number][];
  dashed?: boolean;
}

export interface LineOptions {
  logY?: boolean;
  yMin?: number;
  yMax?: number;
  xLabel: string;
  /** Shown in the middle of an empty plot. */
  empty?: string;
}

const AXIS = '#8a94a6', GRIDLINE = '#e6e9ef', TEXT = '#3b4252', FONT = '11px system-ui, sans-serif';

/** Prepares a canvas for drawing in CSS pixels; returns its context and size. */
function prepare(canvas: HTMLCanvasElement): { g: CanvasRenderingContext2D; w: number; h: number } {
  const dpr = Math.max(1, globalThis.devicePixelRatio || 1);
  const w = canvas.clientWidth || canvas.width, h = canvas.clientHeight || canvas.height;
  if (canvas.width !== Math.round(w * dpr) || canvas.height !== Math.round(h * dpr)) {
    canvas.width = Math.round(w * dpr);
    canvas.height = Math.round(h * dpr);
  }
  const g = canvas.getContext('2d')!;
  g.setTransform(dpr, 0, 0, dpr, 0, 0);
  g.clearRect(0, 0, w, h);
  g.font = FONT;
  return { g, w, h };
}

function niceTicks(lo: number, hi: number, n = 4): number[] {
  const span = hi - lo || 1;
  const step0 = span / n, mag = 10 ** Math.floor(Math.log10(step0));
  const step = [1, 2, 5, 10].map((k) => k * mag).find((s) => s >= step0) ?? step0;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + 1e-12; v += step) out.push(Number(v.toPrecision(12)));
  return out;
}

function fmt(v: number): string {
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 1e4 || a < 1e-2) return v.toExponential(0).replace('e+', 'e');
  return String(Number(v.toPrecision(3)));
}

/**
 * Line chart of one or more series, with a legend; `logY` uses a base-10 axis.
 * @example linePlot(canvas, [{ label: 'loss', color: '#d33', points: [[1, 2.3], [2, 1.9]] }], { xLabel: 'step' });
 */
export function linePlot(canvas: HTMLCanvasElement, series: Series[], opts: LineOptions): void {
  const { g, w, h } = prepare(canvas);
  const L = 44, R = 10, T = 18, B = 26;
  const tf = (y: number): number => (opts.logY ? Math.log10(y) : y);
  const ok = (y: number): boolean => Number.isFinite(y) && (!opts.logY || y > 0);
  const pts = series.flatMap((s) => s.points.filter(([, y]) => ok(y)));
  if (pts.length === 0) {
    g.fillStyle = AXIS;
    g.textAlign = 'center';
    g.fillText(opts.empty ?? 'waiting for data', w / 2, h / 2);
    return;
  }
  let x0 = Math.min(...pts.map((p) => p[0])), x1 = Math.max(...pts.map((p) => p[0]));
  if (x1 === x0) x1 = x0 + 1;
  let y0 = opts.yMin ?? Math.min(...pts.map((p) => tf(p[1]))), y1 = opts.yMax ?? Math.max(...pts.map((p) => tf(p[1])));
  if (opts.logY) {
    y0 = Math.floor(opts.yMin !== undefined ? tf(opts.yMin) : y0);
    y1 = Math.ceil(opts.yMax !== undefined ? tf(opts.yMax) : y1);
  }
  if (y1 <= y0) { y1 = y0 + (opts.logY ? 1 : Math.abs(y0) * 0.1 + 1e-3); }
  const px = (x: number): number => L + ((x - x0) / (x1 - x0)) * (w - L - R);
  const py = (y: number): number => T + (1 - (y - y0) / (y1 - y0)) * (h - T - B);
  // grid and axes
  g.strokeStyle = GRIDLINE;
  g.fillStyle = TEXT;
  g.lineWidth = 1;
  g.textAlign = 'right';
  g.textBaseline = 'middle';
  const yt = opts.logY ? Array.from({ length: y1 - y0 + 1 }, (_, i) => y0 + i).filter((v, i, a) => a.length <= 6 || i % 2 === 0) : niceTicks(y0, y1);
  for (const v of yt) {
    g.beginPath(); g.moveTo(L, py(v)); g.lineTo(w - R, py(v)); g.stroke();
    g.fillText(opts.logY ? `1e${v}` : fmt(v), L - 4, py(v));
  }
  g.textAlign = 'center';
  g.textBaseline = 'top';
  for (const v of niceTicks(x0, x1, 5)) g.fillText(fmt(v), px(v), h - B + 4);
  g.fillStyle = AXIS;
  g.textAlign = 'right';
  g.fillText(opts.xLabel, w - R, h - 12);
  g.strokeStyle = AXIS;
  g.beginPath(); g.moveTo(L, T); g.lineTo(L, h - B); g.lineTo(w - R, h - B); g.stroke();
  // series
  for (const s of series) {
    g.strokeStyle = s.color;
    g.lineWidth = 1.6;
    g.setLineDash(s.dashed ? [4, 3] : []);
    g.beginPath();
    let pen = false;
    for (const [x, y] of s.points) {
      if (!ok(y)) { pen = false; continue; }
      const X = px(x), Y = py(Math.min(Math.max(tf(y), y0), y1));
      if (pen) g.lineTo(X, Y); else g.moveTo(X, Y);
      pen = true;
    }
    g.stroke();
    if (s.points.length === 1 && ok(s.points[0][1])) {
      g.fillStyle = s.color;
      g.beginPath(); g.arc(px(s.points[0][0]), py(tf(s.points[0][1])), 2.5, 0, 7); g.fill();
    }
  }
  g.setLineDash([]);
  // legend
  g.textAlign = 'left';
  g.textBaseline = 'middle';
  let lx = L + 6;
  for (const s of series) {
    g.fillStyle = s.color;
    g.fillRect(lx, 6, 12, 3);
    g.fillStyle = TEXT;
    g.fillText(s.label, lx + 16, 8);
    lx += 24 + g.measureText(s.label).width;
  }
}

/**
 * Bar chart of counts with a label under each bar (the histogram of per-sample iterations).
 * @example barPlot(canvas, [0, 3, 10], ['1', '2', '3'], '#4c7', 'iterations');
 */
export function barPlot(canvas: HTMLCanvasElement, counts: number[], labels: string[], color: string, xLabel: string): void {
  const { g, w, h } = prepare(canvas);
  const L = 30, R = 8, T = 10, B = 28;
  const max = Math.max(1, ...counts);
  const bw = (w - L - R) / Math.max(1, counts.length);
  g.strokeStyle = GRIDLINE;
  g.fillStyle = TEXT;
  g.textAlign = 'right';
  g.textBaseline = 'middle';
  for (const v of niceTicks(0, max, 3)) {
    const y = T + (1 - v / max) * (h - T - B);
    g.beginPath(); g.moveTo(L, y); g.lineTo(w - R, y); g.stroke();
    g.fillText(fmt(v), L - 4, y);
  }
  g.fillStyle = color;
  counts.forEach((c, i) => {
    const bh = (c / max) * (h - T - B);
    g.fillRect(L + i * bw + 1, h - B - bh, Math.max(1, bw - 2), bh);
  });
  g.fillStyle = TEXT;
  g.textAlign = 'center';
  g.textBaseline = 'top';
  const every = Math.ceil(counts.length / 12);
  labels.forEach((l, i) => { if (i % every === 0) g.fillText(l, L + (i + 0.5) * bw, h - B + 3); });
  g.fillStyle = AXIS;
  g.textAlign = 'right';
  g.fillText(xLabel, w - R, h - 12);
}

/**
 * One horizontal bar split into coloured shares, with a legend (samples per solver status).
 * @example shareBar(canvas, [{ label: 'converged', value: 60, color: '#4a4' }]);
 */
export function shareBar(canvas: HTMLCanvasElement, parts: { label: string; value: number; color: string }[]): void {
  const { g, w, h } = prepare(canvas);
  const total = parts.reduce((a, p) => a + p.value, 0) || 1;
  let x = 8;
  const bw = w - 16;
  for (const p of parts) {
    const pw = (p.value / total) * bw;
    g.fillStyle = p.color;
    g.fillRect(x, 6, pw, 16);
    x += pw;
  }
  g.textBaseline = 'middle';
  g.textAlign = 'left';
  let lx = 8, ly = 34;
  for (const p of parts) {
    const text = `${p.label} ${Math.round((100 * p.value) / total)}%`;
    const tw = 14 + g.measureText(text).width;
    if (lx > 8 && lx + tw > w - 4) { lx = 8; ly += 16; } // wrap the legend
    g.fillStyle = p.color;
    g.fillRect(lx, ly - 5, 10, 10);
    g.fillStyle = TEXT;
    g.fillText(text, lx + 14, ly);
    lx += tw + 12;
  }
}

/**
 * A grid of 28x28 digits, each with its predicted label; wrong predictions are framed red
 * and labelled 'predicted≠true'.
 * @example digitGrid(canvas, images, labels, preds, 8);
 */
export function digitGrid(canvas: HTMLCanvasElement, images: Float32Array, labels: number[], preds: number[] | null, cols: number): void {
  const n = labels.length, rows = Math.ceil(n / cols);
  const cell = Math.floor((canvas.clientWidth || canvas.width) / cols), size = cell - 18;
  canvas.style.height = `${rows * (cell + 6) + 4}px`;
  const { g } = prepare(canvas);
  const img = g.createImageData(28, 28);
  const tmp = document.createElement('canvas');
  tmp.width = 28;
  tmp.height = 28;
  const tg = tmp.getContext('2d')!;
  g.imageSmoothingEnabled = true;
  g.textAlign = 'center';
  g.textBaseline = 'top';
  g.font = '12px system-ui, sans-serif';
  for (let i = 0; i < n; i++) {
    for (let p = 0; p < 784; p++) {
      const v = 255 - Math.round(images[i * 784 + p] * 255);
      img.data.set([v, v, v, 255], p * 4);
    }
    tg.putImageData(img, 0, 0);
    const x = (i % cols) * cell + 9, y = Math.floor(i / cols) * (cell + 6) + 4;
    g.drawImage(tmp, x, y, size, size);
    const pred = preds?.[i];
    const wrong = pred !== undefined && pred !== labels[i];
    g.strokeStyle = wrong ? '#d64545' : '#d8dde6';
    g.lineWidth = wrong ? 2.5 : 1;
    g.strokeRect(x, y, size, size);
    g.fillStyle = wrong ? '#d64545' : pred === undefined ? AXIS : '#2e7d4f';
    g.fillText(pred === undefined ? '?' : wrong ? `${pred}≠${labels[i]}` : String(pred), x + size / 2, y + size + 2);
  }
}
