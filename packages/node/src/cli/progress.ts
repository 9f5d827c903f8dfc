/** The CLI's progress bar: every long command draws the same one on stderr. */
import type { ProgressEvent } from '@onnx-explain/core';

/** A progress bar on stderr, drawn only on a terminal. */
export function progressBar(enabled: boolean) {
  let last = '';
  return {
    update(e: ProgressEvent) {
      if (!enabled) return;
      const width = 30;
      const filled = Math.round((width * e.done) / Math.max(1, e.total));
      const line = `\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${String(Math.round((100 * e.done) / Math.max(1, e.total))).padStart(3)}% ${e.phase} ${e.done}/${e.total}`;
      if (line !== last) process.stderr.write(line.padEnd(last.length));
      last = line;
    },
    done() {
      if (enabled && last) process.stderr.write('\r' + ' '.repeat(last.length) + '\r');
    },
  };
}
