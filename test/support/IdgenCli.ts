/**
 * The `idgen` command line run as a user runs it: a separate process, arguments and
 * environment in, exit code and text out.
 */
import { assert } from "@effect/vitest"
import { Effect } from "effect"
import { spawn } from "node:child_process"
import { join, resolve } from "node:path"

export const repoRoot = resolve(import.meta.dirname, "../..")
export const bin = join(repoRoot, "packages/cli/bin/idgen.js")

export interface Run {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
}

/** `idgen ...args` with `env` on top of ours; resolves once it exited and its output is read to the end. */
export const idgen = (args: ReadonlyArray<string>, env: Record<string, string> = {}, command = [process.execPath, bin]) =>
  Effect.callback<Run>((resume) => {
    const child = spawn(command[0]!, [...command.slice(1), ...args], {
      cwd: repoRoot,
      env: { ...process.env, ...env },
      stdio: ["ignore", "pipe", "pipe"]
    })
    let stdout = ""
    let stderr = ""
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()))
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()))
    // 'close', not 'exit': 'exit' may come before the last of stdout and stderr is read.
    child.on("close", (code) => resume(Effect.succeed({ code, stdout, stderr })))
    return Effect.sync(() => child.kill("SIGKILL"))
  })

/** Asserts exit 0; yields stdout. */
export const ok = (run: Run) => {
  assert.strictEqual(run.code, 0, `exit ${run.code}\nstdout: ${run.stdout}\nstderr: ${run.stderr}`)
  return run.stdout
}
