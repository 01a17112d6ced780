/**
 * The demo's console output: on a terminal, a progress bar redrawn in place (`\r` + clear line)
 * with the table lines printed above it; elsewhere (a pipe, a file, CI logs) only whole lines:
 * the table and the summary, no bar fragments and no repeated progress lines.
 */

/** Where the demo writes: a stream with `write` and, for a terminal, `isTTY`. */
export interface DemoStream {
  isTTY?: boolean;
  write(s: string): unknown;
}

/** The `log` / `progress` callbacks `runDemo` takes, writing to `stream`. @example const r = reporter(process.stdout); */
export function reporter(stream: DemoStream): { log: (s: string) => void; progress: (s: string) => void } {
  const tty = stream.isTTY === true;
  let barShown = false;
  return {
    log: (s) => {
      if (barShown) { stream.write('\r\x1b[K'); barShown = false; }
      stream.write(`${s}\n`);
    },
    progress: (s) => {
      if (!tty) return; // a bar only makes sense where it can be redrawn
      stream.write(`\r\x1b[K${s}`);
      barShown = true;
    },
  };
}
