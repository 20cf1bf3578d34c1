/**
 * Errors in layers (as vitest does): known errors carry a stable code, an exit
 * status and a message that says what to do; the CLI prints them without a stack.
 * Anything else is unexpected and printed with its stack.
 */
export type ErrorCode =
  | 'BAD_ARGS'
  | 'BAD_SCENARIO'
  | 'BAD_RESULTS'
  | 'MISSING_DEPENDENCY'
  | 'PREFLIGHT'
  | 'BACKEND_UNAVAILABLE'
  | 'INSTANCE_START'
  | 'EXEC_TIMEOUT'
  | 'PARSE'
  | 'RUN_FAILED'
  | 'INTERRUPTED'
  | 'NOT_BUILT';

/** Exit codes are a contract: 0 ok, 1 a run or check failed, 2 bad input. */
export const EXIT_OK = 0;
export const EXIT_FAILED = 1;
export const EXIT_BAD_INPUT = 2;

const BAD_INPUT_CODES: ReadonlySet<ErrorCode> = new Set([
  'BAD_ARGS',
  'BAD_SCENARIO',
  'BAD_RESULTS',
  'MISSING_DEPENDENCY',
]);

export class IsobenchError extends Error {
  readonly code: ErrorCode;
  readonly exitCode: number;
  /** Extra lines printed after the message (one problem per line). */
  readonly details: readonly string[];
  constructor(
    code: ErrorCode,
    message: string,
    opts: { details?: readonly string[]; cause?: unknown; exitCode?: number } = {},
  ) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'IsobenchError';
    this.code = code;
    this.details = opts.details ?? [];
    this.exitCode = opts.exitCode ?? (BAD_INPUT_CODES.has(code) ? EXIT_BAD_INPUT : EXIT_FAILED);
  }
}

export function errorMessage(e: unknown): string {
  if (e instanceof Error) return e.message;
  return String(e);
}
