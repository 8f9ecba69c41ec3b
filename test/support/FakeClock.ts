/**
 * A wall clock the test can step, for a real child process: libfaketime (Debian
 * `faketime`) preloaded into the process, reading its offset from a file the test
 * rewrites. Only the wall clock (`CLOCK_REALTIME`, `Date.now`) moves; the monotonic clock
 * stays real, as it does when NTP steps a machine's time, so timers and the fencing
 * deadlines keep running normally.
 *
 *   const clock = yield* FakeClock.make
 *   const server = yield* ServerProcess.make(url, { env: { ...clock.env } })
 *   yield* clock.setOffset(-300)   // the server's clock jumps 300 ms back, now
 *
 * The offset file is re-read on every clock read (`FAKETIME_NO_CACHE`), which makes time
 * reads slower (~10 µs); fine for tests, and it makes a step take effect at once.
 */
import { Effect, type Scope } from "effect"
import { mkdtempSync, renameSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { libfaketime } from "./SystemPackages.ts"

export interface FakeClockShape {
  /** Environment for the child process (add to its `env`). */
  readonly env: Readonly<Record<string, string>>
  /** The current offset from real time, in ms (negative: behind). */
  readonly offset: () => number
  /** Steps the child's wall clock to `ms` from real time, effective immediately. */
  readonly setOffset: (ms: number) => Effect.Effect<void>
}

/** libfaketime's relative format: a signed number of seconds. */
const format = (ms: number) => `${ms < 0 ? "-" : "+"}${(Math.abs(ms) / 1000).toFixed(3)}`

export const make: Effect.Effect<FakeClockShape, never, Scope.Scope> = Effect.gen(function*() {
  const library = libfaketime()
  if (library === undefined) return yield* Effect.die(new Error("libfaketime is not installed (Debian package faketime)"))
  const dir = yield* Effect.acquireRelease(
    Effect.sync(() => mkdtempSync(join(tmpdir(), "idgen-faketime-"))),
    (path) => Effect.sync(() => rmSync(path, { recursive: true, force: true }))
  )
  const file = join(dir, "offset")
  let current = 0
  // Written aside and renamed: a reader never sees a half-written (empty) file, which
  // libfaketime would take as "no offset".
  const write = (ms: number) => {
    writeFileSync(`${file}.tmp`, `${format(ms)}\n`)
    renameSync(`${file}.tmp`, file)
    current = ms
  }
  write(0)
  return {
    env: {
      LD_PRELOAD: library,
      FAKETIME_TIMESTAMP_FILE: file,
      FAKETIME_NO_CACHE: "1",
      FAKETIME_DONT_FAKE_MONOTONIC: "1"
    },
    offset: () => current,
    setOffset: (ms) => Effect.sync(() => write(ms))
  } satisfies FakeClockShape
})
