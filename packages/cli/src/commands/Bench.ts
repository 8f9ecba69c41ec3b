/**
 * `idgen bench`: batch calls against a running server over HTTP, gRPC and Effect RPC, one
 * interface after the other, each a closed loop of `--concurrency` callers for `--duration`
 * seconds after a warm-up; prints IDs/s and latency percentiles, with a live progress line.
 */
import * as Grpc from "@idgen/server/config/sections/Grpc"
import { Config, Console, Effect, Option } from "effect"
import { Command, Flag } from "effect/cli"
import type * as Drivers from "../bench/Drivers.ts"
import { type InterfaceName, interfaces } from "../bench/Interfaces.ts"
import * as Stats from "../bench/Stats.ts"
import { CliFailure } from "../CliFailure.ts"
import { withDefault } from "../FlagDefault.ts"
import * as FlagValue from "../FlagValue.ts"
import { printJson, printTable } from "../Output.ts"
import { reach } from "../Reach.ts"
import { idgen } from "../Root.ts"
import * as TagPath from "../TagPath.ts"
import { declared } from "./Serve.ts"

/** Where a node listens for gRPC unless configured otherwise: bench looks there on the server's host. */
const DEFAULT_GRPC_PORT = String(declared(Grpc.section, "port").default)

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
    FlagValue.parsed(TagPath.fromText),
    Flag.optional
  ),
  grpc: Flag.String("grpc").pipe(
    Flag.withDescription(`gRPC host:port (env IDGEN_GRPC; default: the server's host, port ${DEFAULT_GRPC_PORT}, a node's default)`),
    Flag.withFallbackConfig(Config.String("IDGEN_GRPC")),
    Flag.optional
  ),
  size: Flag.Int("size").pipe(
    FlagValue.parsed(FlagValue.contract((http) => http.BatchGenerateRequest.fields.size)),
    withDefault("IDs per batch call (1..10000)", 1000)
  ),
  concurrency: Flag.Int("concurrency").pipe(
    Flag.withAlias("c"),
    FlagValue.parsed(FlagValue.intIn(1)),
    withDefault("Calls in flight per interface", 16)
  ),
  duration: Flag.Finite("duration").pipe(
    Flag.withAlias("d"),
    FlagValue.parsed(FlagValue.above(0)),
    withDefault("Seconds measured per interface", 5)
  ),
  warmup: Flag.Finite("warmup").pipe(FlagValue.parsed(FlagValue.atLeast(0)), withDefault("Warm-up seconds per interface", 1)),
  only: Flag.String("interfaces").pipe(
    Flag.withAlias("i"),
    FlagValue.parsed(FlagValue.listOf(interfaces, "interfaces")),
    withDefault<ReadonlyArray<InterfaceName>>("Comma-separated subset of http,grpc,rpc", interfaces, interfaces.join(","))
  )
}, (input) =>
  Effect.gen(function*() {
    const root = yield* idgen
    if (root.apiKey === "") return yield* new CliFailure({ message: "an API key is needed: --api-key or IDGEN_API_KEY" })
    yield* reach(root.server, root.connectTimeoutMs)
    const keyWorkspace = /^idgen_(.+)_[0-9a-f]{32}$/.exec(root.apiKey)?.[1] ?? "bench"
    const path = Option.isSome(input.tag) ? input.tag.value : yield* TagPath.parse(`${keyWorkspace}/bench/bench`)
    const target: Drivers.Target = {
      server: root.server,
      grpc: Option.getOrElse(input.grpc, () => `${new URL(root.server).hostname}:${DEFAULT_GRPC_PORT}`),
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
    for (const name of input.only) {
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
    if (root.json) {
      yield* printJson({ target: { ...target, apiKey: undefined }, results: summaries })
    } else {
      yield* Console.log(
        `${path.workspace}/${path.group}/${path.name}: batches of ${input.size}, ${input.concurrency} in flight, ` +
          `${input.duration} s per interface`
      )
      yield* printTable(Stats.columns, Stats.rows(summaries))
    }
    // An interface without one successful call measured nothing: the run failed, and why.
    const failed = summaries.filter((s) => s.calls === 0)
    for (const s of summaries) {
      if (s.firstError !== undefined && s.calls > 0 && !root.json) yield* Console.error(`${s.interface}: ${s.firstError}`)
    }
    if (failed.length > 0) {
      return yield* new CliFailure({
        message: failed.map((s) =>
          `no successful call over ${s.interface} (${s.errors} errors): ` +
          (s.firstError ?? "none completed within the measured window") +
          (s.interface === "grpc" ? ` (gRPC at ${target.grpc}: --grpc or IDGEN_GRPC)` : "")
        ).join("; ")
      })
    }
  })).pipe(
  Command.withDescription("Measure batch throughput and latency over HTTP, gRPC and Effect RPC (needs an API key)"),
  Command.withExamples([{ command: "idgen bench -t shop/bench/bench -d 10 -i http,grpc", description: "10 s over HTTP, then gRPC" }])
)
