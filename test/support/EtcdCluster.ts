/**
 * A real etcd cluster for tests: `members` etcd processes (Debian `etcd-server`) on free
 * loopback ports, each with a data directory under a temp dir, started together and
 * waited for until every member reports a healthy cluster. Members can be stopped and
 * started again (same data dir) to take the quorum away under a running server. Every
 * process is killed and the temp dir removed when the scope closes.
 *
 * The global setup starts one shared 3-member cluster for the whole run (tests isolate
 * themselves with their own key prefix, see `SharedEtcd.ts`); a suite that breaks the
 * cluster on purpose starts its own.
 */
import { Data, Effect, type Scope } from "effect"
import { type ChildProcess, spawn } from "node:child_process"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { freePort, wait } from "./ServerProcess.ts"
import { ETCD_BINARY } from "./SystemPackages.ts"

export class EtcdStartError extends Data.TaggedError("EtcdStartError")<{
  readonly message: string
  readonly output: string
}> {}

export interface EtcdClusterShape {
  /** Client URLs of all members, for `IDGEN_ETCD_ENDPOINTS`. */
  readonly endpoints: ReadonlyArray<string>
  /** Kills member `index` (SIGKILL) and waits for its exit. */
  readonly stop: (index: number) => Effect.Effect<void>
  /** Starts member `index` again on its data dir and waits until it answers. */
  readonly start: (index: number) => Effect.Effect<void, EtcdStartError>
  /** Index of the member the running members agree is leader, if any. */
  readonly leader: Effect.Effect<number | undefined>
  /**
   * Whether member `index` knows of a leader (itself or another); undefined when it does not
   * say (down, busy, an error answer): only its own answer tells that it has none.
   */
  readonly hasLeader: (index: number) => Effect.Effect<boolean | undefined>
  /** What the members wrote so far (for failure messages). */
  readonly output: () => string
}

interface Member {
  readonly name: string
  readonly clientUrl: string
  readonly peerUrl: string
  readonly dataDir: string
  process: ChildProcess | undefined
}

const exited = (proc: ChildProcess) => proc.exitCode !== null || proc.signalCode !== null

const healthy = (clientUrl: string) =>
  Effect.promise(() =>
    fetch(`${clientUrl}/health`, { signal: AbortSignal.timeout(1000) }).then(
      async (r) => r.status === 200 && ((await r.json()) as { health?: string }).health === "true",
      () => false
    )
  )

/** Starts a cluster of `members` (default 3) for the lifetime of the scope. */
export const make = (options: { readonly members?: number; readonly startTimeoutMillis?: number } = {}): Effect.Effect<
  EtcdClusterShape,
  EtcdStartError,
  Scope.Scope
> =>
  Effect.gen(function*() {
    const count = options.members ?? 3
    const root = yield* Effect.acquireRelease(
      Effect.sync(() => mkdtempSync(join(tmpdir(), "idgen-etcd-"))),
      (dir) => Effect.sync(() => rmSync(dir, { recursive: true, force: true }))
    )
    // Distinct ports: the kernel may hand a just-released port out again.
    const taken = new Set<number>()
    const distinctPort = Effect.gen(function*() {
      while (true) {
        const port = yield* freePort
        if (!taken.has(port)) {
          taken.add(port)
          return port
        }
      }
    })
    const members: Array<Member> = []
    for (let i = 0; i < count; i++) {
      members.push({
        name: `m${i}`,
        clientUrl: `http://127.0.0.1:${yield* distinctPort}`,
        peerUrl: `http://127.0.0.1:${yield* distinctPort}`,
        dataDir: join(root, `m${i}`),
        process: undefined
      })
    }
    const initialCluster = members.map((m) => `${m.name}=${m.peerUrl}`).join(",")
    const token = `idgen-test-${process.pid}-${Date.now()}`
    let output = ""

    const spawnMember = (member: Member) => {
      const proc = spawn(ETCD_BINARY, [
        "--name", member.name,
        "--data-dir", member.dataDir,
        "--listen-client-urls", member.clientUrl,
        "--advertise-client-urls", member.clientUrl,
        "--listen-peer-urls", member.peerUrl,
        "--initial-advertise-peer-urls", member.peerUrl,
        "--initial-cluster", initialCluster,
        "--initial-cluster-token", token,
        "--initial-cluster-state", "new",
        "--logger", "zap",
        "--log-level", "warn"
      ], { stdio: ["ignore", "pipe", "pipe"] })
      member.process = proc
      proc.stdout!.on("data", (chunk: Buffer) => (output += `[${member.name}] ${chunk}`))
      proc.stderr!.on("data", (chunk: Buffer) => (output += `[${member.name}] ${chunk}`))
    }

    /**
     * The member's own view (`/v3/maintenance/status`; proto3 JSON omits a zero leader);
     * undefined when it does not answer in time or answers an error.
     */
    const status = (member: Member) =>
      Effect.promise(() =>
        fetch(`${member.clientUrl}/v3/maintenance/status`, { method: "POST", body: "{}", signal: AbortSignal.timeout(1000) })
          .then((r) => (r.ok ? r.json() as Promise<{ header?: { member_id?: string }; leader?: string }> : undefined))
          .catch(() => undefined)
      )

    const stopMember = (member: Member) =>
      Effect.callback<void>((resume) => {
        const proc = member.process
        if (proc === undefined || exited(proc)) return resume(Effect.void)
        proc.once("exit", () => resume(Effect.void))
        proc.kill("SIGKILL")
      })

    /** Polls until every running member answers /health with a leader. */
    const awaitHealthy = (which: ReadonlyArray<Member>) =>
      Effect.gen(function*() {
        const deadline = Date.now() + (options.startTimeoutMillis ?? 30_000)
        while (true) {
          const dead = which.find((m) => m.process !== undefined && exited(m.process))
          if (dead) return yield* new EtcdStartError({ message: `etcd member ${dead.name} exited`, output })
          const states = yield* Effect.forEach(which, (m) => healthy(m.clientUrl), { concurrency: "unbounded" })
          if (states.every((ok) => ok)) return
          if (Date.now() > deadline) {
            return yield* new EtcdStartError({ message: "etcd cluster not healthy within the deadline", output })
          }
          yield* wait(100)
        }
      })

    yield* Effect.addFinalizer(() => Effect.forEach(members, stopMember, { discard: true }))
    for (const member of members) spawnMember(member)
    yield* awaitHealthy(members)

    const memberAt = (index: number) => {
      const member = members[index]
      if (member === undefined) throw new RangeError(`no etcd member ${index}`)
      return member
    }

    return {
      endpoints: members.map((m) => m.clientUrl),
      stop: (index) => stopMember(memberAt(index)),
      start: (index) =>
        Effect.suspend(() => {
          const member = memberAt(index)
          if (member.process === undefined || exited(member.process)) spawnMember(member)
          // A lone restarted member has no leader until a second one is back: wait for the
          // process to listen, not for cluster health.
          return Effect.gen(function*() {
            const deadline = Date.now() + (options.startTimeoutMillis ?? 30_000)
            while (true) {
              const up = yield* Effect.promise(() =>
                fetch(`${member.clientUrl}/version`, { signal: AbortSignal.timeout(1000) }).then((r) => r.ok, () => false)
              )
              if (up) return
              if (member.process && exited(member.process)) {
                return yield* new EtcdStartError({ message: `etcd member ${member.name} exited`, output })
              }
              if (Date.now() > deadline) {
                return yield* new EtcdStartError({ message: `etcd member ${member.name} did not start`, output })
              }
              yield* wait(100)
            }
          })
        }),
      leader: Effect.map(Effect.forEach(members, status, { concurrency: "unbounded" }), (statuses) => {
        const index = statuses.findIndex((s) => s?.leader !== undefined && s.header?.member_id === s.leader)
        return index < 0 ? undefined : index
      }),
      hasLeader: (index) =>
        Effect.map(status(memberAt(index)), (s) => (s === undefined ? undefined : s.leader !== undefined && s.leader !== "0")),
      output: () => output
    } satisfies EtcdClusterShape
  })
