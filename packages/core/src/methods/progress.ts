/** Progress reporting and cancellation shared by every long computation. */

export interface ProgressEvent {
  /** What is being done: 'preparing', 'gradients', 'forward', ... */
  phase: string;
  done: number;
  total: number;
}

export type ProgressCallback = (e: ProgressEvent) => void;

/** The part of AbortSignal core needs (core builds without DOM typings; a real AbortSignal fits). */
export interface AbortSignalLike {
  readonly aborted: boolean;
  readonly reason?: unknown;
}

export interface LongRunOptions {
  onProgress?: ProgressCallback;
  signal?: AbortSignalLike;
}

/** Raised when a computation is cancelled through its AbortSignal. */
export class CancelledError extends Error {
  constructor(message = 'the computation was cancelled') {
    super(message);
    this.name = 'AbortError';
  }
}

export function throwIfAborted(signal: AbortSignalLike | undefined): void {
  if (signal?.aborted) throw signal.reason instanceof Error ? signal.reason : new CancelledError();
}
