/**
 * `idgen bench`: batch calls against a running server over HTTP, gRPC and Effect RPC, one
 * interface after the other, each a closed loop of `--concurrency` callers for `--duration`
 * seconds after a warm-up; prints IDs/s and latency percentiles, with a live progress line.
 */
import { Console, Effect, Option } from "effect"
import { Command, Flag } from "effect/cli"
import type * as Drivers from "../bench/Drivers.ts"
import * as Stats from "../bench/Stats.ts"
import { CliFailure } from "../CliFailure.ts"
import { withDefault } from "../FlagDefault.ts"
import { printJson, printTable } from "../Output.ts"
import { reach } from "../Reach.ts"
import { idgen } from "../Root.ts"
import * as TagPath from "../TagPath.ts"

const progressLine = (name: string, total: number) => (elapsed: number, calls: number, ids: number, errors: number) => {
  const width = 24
  const done = Math.min(width, Math.round((elapsed / total) * width))
  const line = `${name.padEnd(5)} [${"#".repeat(done)}${".".repeat(width - done)}] ${elapsed.toFixed(1)}/${total}s ` +
    `${calls} calls  ${(ids / Math.max(elapsed, 0.001) / 1e6).toFixed(2)} M IDs/s` + (errors > 0 ? `  ${errors} errors` : "")
  // A TTY gets one line rewritten in place; a log gets a line per second.
  if (process.stderr.isTTY) process.stderr.write(`\r${line}`)
  else if (Math.abs(elapsed - Math.round(elapsed)) < 0.13) process.stderr.write(`${line}\n`)
}

export const bench = Command.make("bench", {
  tag: Flag.String("tag").pipe(
    Flag.withAlias("t"),
    Flag.withDescription("workspace/group/biz_tag to draw from (default: <the API key's workspace>/bench/bench)"),
    Flag.optional
  ),
  grpc: Flag.String("grpc").pipe(
    Flag.withDescription("gRPC host:port (default: the server's host, port 50051)"),
    Flag.optional
  ),
  size: Flag.Int("size").pipe(withDefault("IDs per batch call (1..10000)", 1000)),
  concurrency: Flag.Int("concurrency").pipe(
    Flag.withAlias("c"),
    withDefault("Calls in flight per interface", 16)
  ),
  duration: Flag.Finite("duration").pipe(Flag.withAlias("d"), withDefault("Seconds measured per interface", 5)),
  warmup: Flag.Finite("warmup").pipe(withDefault("Warm-up seconds per interface", 1)),
  only: Flag.String("interfaces").pipe(
    Flag.withAlias("i"),
    withDefault("Comma-separated subset of http,grpc,rpc", "http,grpc,rpc")
  )
}, (input) =>
  Effect.gen(function*() {
    const root = yield* idgen
    if (input.size < 1 || input.size > 10_000) return yield* new CliFailure({ message: "--size must be 1..10000" })
    if (input.concurrency < 1) return yield* new CliFailure({ message: "--concurrency must be at least 1" })
    if (root.apiKey === "") return yield* new CliFailure({ message: "an API key is needed: --api-key or IDGEN_API_KEY" })
    yield* reach(root.server, root.connectTimeoutMs)
    const keyWorkspace = /^idgen_(.+)_[0-9a-f]{32}$/.exec(root.apiKey)?.[1] ?? "bench"
    const path = yield* TagPath.parse(Option.getOrElse(input.tag, () => `${keyWorkspace}/bench/bench`))
    const names = input.only.split(",").map((s) => s.trim()).filter((s) => s !== "")
    const unknown = names.filter((n) => !["http", "grpc", "rpc"].includes(n))
    if (unknown.length > 0) return yield* new CliFailure({ message: `unknown interfaces: ${unknown.join(", ")}` })
    const target: Drivers.Target = {
      server: root.server,
      grpc: Option.getOrElse(input.grpc, () => `${new URL(root.server).hostname}:50051`),
      apiKey: root.apiKey,
      workspace: path.workspace,
      group: path.group,
      bizTag: path.name,
      size: input.size,
      concurrency: input.concurrency
    }
    // Loaded here, not at start-up: gRPC and the client SDK are heavy for the other commands.
    const { Drivers: drivers, Load } = yield* Effect.promise(() => import("../index.ts"))
    const summaries: Array<Stats.Summary> = []
    for (const name of names as ReadonlyArray<Drivers.InterfaceName>) {
      const summary = yield* Effect.promise(async () => {
        const driver = await drivers.make(name, target)
        try {
          return await Load.run(driver, {
            concurrency: input.concurrency,
            warmupSeconds: input.warmup,
            seconds: input.duration,
            onProgress: root.json ? undefined : progressLine(name, input.duration)
          })
        } finally {
          await driver.close()
        }
      })
      if (!root.json && process.stderr.isTTY) process.stderr.write("\n")
      summaries.push(summary)
    }
    if (root.json) return yield* printJson({ target: { ...target, apiKey: undefined }, results: summaries })
    yield* Console.log(
      `${path.workspace}/${path.group}/${path.name}: batches of ${input.size}, ${input.concurrency} in flight, ` +
        `${input.duration} s per interface`
    )
    yield* printTable(Stats.columns, Stats.rows(summaries))
    for (const s of summaries) if (s.firstError !== undefined) yield* Console.error(`${s.interface}: ${s.firstError}`)
  })).pipe(
  Command.withDescription("Measure batch throughput and latency over HTTP, gRPC and Effect RPC (needs an API key)"),
  Command.withExamples([{ command: "idgen bench -t shop/bench/bench -d 10 -i http,grpc", description: "10 s over HTTP, then gRPC" }])
)
