// One line of progress on stderr, rewritten in place, and only when stderr is a terminal: a CI log or
// a pipe gets nothing. The line is wiped before the result is printed, so stdout and stderr sharing
// a terminal never interleave.
import type { CheckProgress } from '../engine/index.js';
import type { CliIo } from './io.js';

const CLEAR_LINE = '\r\u001b[2K';

export class Progress {
  private shown = false;

  constructor(private readonly io: CliIo) {}

  update(message: string): void {
    if (!this.io.interactive) return;
    // Control characters in a cluster's name must not reach the terminal.
    this.io.stderr(`${CLEAR_LINE}parapet: ${message.replace(/[\u0000-\u001f\u007f-\u009f]/g, '?')}`);
    this.shown = true;
  }

  /** `prod: compiling 3/12 policies`, `prod: evaluating 500/1200 objects`. */
  check(progress: CheckProgress, prefix = ''): void {
    const what = progress.stage === 'compiling' ? 'policies' : 'objects';
    this.update(`${prefix}${progress.cluster}: ${progress.stage} ${progress.done}/${progress.total} ${what}`);
  }

  clear(): void {
    if (!this.shown) return;
    this.io.stderr(CLEAR_LINE);
    this.shown = false;
  }
}
