/**
 * An exclusive, process-level lock on the embedded store's data directory.
 *
 * The lock is a file (`<dataDir>/idgen.lock`) created with O_EXCL that holds the owner's pid.
 * A lock whose pid no longer runs (the owner was killed) is stale and is taken over: it is
 * first renamed aside — an atomic step only one contender wins — and then checked again, so
 * two processes racing for a stale lock cannot both believe they hold it.
 * Released (deleted) when the scope closes, but only while it still holds our pid.
 */
import { Effect, Schema, type Scope } from "effect"
import * as Fs from "node:fs"
import * as Path from "node:path"
import { makeDirectory, problem } from "../config/DataDirectory.ts"

/** The data directory is in use by another live process (or by this one). */
export class DataDirLocked extends Schema.TaggedError<DataDirLocked>()("DataDirLocked", {
  message: Schema.String,
  lockFile: Schema.String,
  pid: Schema.Int
}) {}

/** The lock file could not be read or written. */
export class DataDirLockError extends Schema.TaggedError<DataDirLockError>()("DataDirLockError", {
  message: Schema.String,
  cause: Schema.Defect()
}) {}

export const LOCK_FILE = "idgen.lock"

/**
 * The lock files this process holds. A lock file with our own pid that is not among them
 * was left by an earlier process that had the same pid: a container restarted after a
 * kill runs as pid 1 again on the same volume.
 */
const heldHere = new Set<string>()

/** True when a process with this pid exists (EPERM: it exists but belongs to someone else). */
export const isAlive = (pid: number): boolean => {
  if (!Number.isInteger(pid) || pid <= 0) return false
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM"
  }
}

const readPid = (file: string): number | undefined => {
  try {
    const pid = Number.parseInt(Fs.readFileSync(file, "utf8").split("\n")[0] ?? "", 10)
    return Number.isInteger(pid) ? pid : undefined
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined
    throw error
  }
}

type Attempt =
  | { readonly _tag: "Acquired" }
  | { readonly _tag: "Locked"; readonly pid: number }
  | { readonly _tag: "Retry" }

/** A lock file left empty (its creator died between creating and writing it) is stale after this. */
const EMPTY_LOCK_GRACE_MS = 2_000

const attempt = (file: string): Attempt => {
  try {
    const fd = Fs.openSync(file, "wx", 0o600)
    try {
      Fs.writeSync(fd, `${process.pid}\n${new Date().toISOString()}\n`)
      Fs.fsyncSync(fd)
    } finally {
      Fs.closeSync(fd)
    }
    heldHere.add(file)
    return { _tag: "Acquired" }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error
  }
  const pid = readPid(file)
  if (pid === undefined) {
    // Vanished meanwhile, or created but not yet filled in: look again, unless it stays empty.
    let ageMs: number
    try {
      ageMs = Date.now() - Fs.statSync(file).mtimeMs
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return { _tag: "Retry" }
      throw error
    }
    if (ageMs < EMPTY_LOCK_GRACE_MS) return { _tag: "Retry" }
  } else if (pid === process.pid ? heldHere.has(file) : isAlive(pid)) {
    return { _tag: "Locked", pid }
  }
  // Stale: move it aside (atomic; one winner), then make sure we moved the stale one.
  const aside = `${file}.stale-${process.pid}-${Date.now()}`
  try {
    Fs.renameSync(file, aside)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return { _tag: "Retry" }
    throw error
  }
  const movedPid = readPid(aside)
  if (movedPid !== undefined && movedPid !== pid && isAlive(movedPid)) {
    // We moved a fresh lock another process had just taken: give it back.
    try {
      Fs.linkSync(aside, file)
    } catch {
      // The name is taken again; whoever holds it is the owner now.
    }
    Fs.rmSync(aside, { force: true })
    return { _tag: "Locked", pid: movedPid }
  }
  Fs.rmSync(aside, { force: true })
  return { _tag: "Retry" }
}

const releaseSync = (file: string) => {
  heldHere.delete(file)
  try {
    if (readPid(file) === process.pid) Fs.rmSync(file, { force: true })
  } catch {
    // Best effort: a lock left behind is stale once this process exits.
  }
}

/**
 * Holds the lock on `dataDir` for the current scope (creating the directory, mode 0700, if
 * needed). Fails with `DataDirLocked` when another live process — or this one — holds it.
 */
export const acquire = (dataDir: string): Effect.Effect<void, DataDirLocked | DataDirLockError, Scope.Scope> => {
  const dir = Path.resolve(dataDir)
  const file = Path.join(dir, LOCK_FILE)
  const tryOnce = Effect.try({
    try: () => {
      makeDirectory(dir)
      return attempt(file)
    },
    catch: (cause) => new DataDirLockError({ message: problem(dir, cause), cause })
  })
  const loop = (round: number): Effect.Effect<void, DataDirLocked | DataDirLockError> =>
    Effect.flatMap(tryOnce, (result) => {
      switch (result._tag) {
        case "Acquired":
          return Effect.void
        case "Retry":
          return round < 100
            ? Effect.flatMap(Effect.sleep(Math.min(5 + round * 5, 50)), () => loop(round + 1))
            : Effect.fail(locked(dir, file, -1))
        case "Locked":
          return Effect.fail(locked(dir, file, result.pid))
      }
    })
  return Effect.acquireRelease(loop(0), () => Effect.sync(() => releaseSync(file)))
}

const locked = (dir: string, file: string, pid: number) =>
  new DataDirLocked({
    message: `the data directory ${dir} is in use by another idgen process` +
      (pid > 0 ? ` (pid ${pid})` : "") +
      `; stop it first, or delete ${file} if no idgen process uses this directory`,
    lockFile: file,
    pid
  })
