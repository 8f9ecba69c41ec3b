/**
 * How bench child processes hand their results to `bench/run.ts`: one line on stdout,
 * `BENCH_RESULT <json>`. Everything else a child prints is diagnostics.
 */
export const RESULT_PREFIX = "BENCH_RESULT "

export const emit = (value: unknown): void => {
  process.stdout.write(`${RESULT_PREFIX}${JSON.stringify(value)}\n`)
}

export const parseResult = <A>(stdout: string): A | undefined => {
  const line = stdout.split("\n").reverse().find((l) => l.startsWith(RESULT_PREFIX))
  return line === undefined ? undefined : (JSON.parse(line.slice(RESULT_PREFIX.length)) as A)
}
