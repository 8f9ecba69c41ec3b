/**
 * `idgen cluster settings` and `idgen cluster pin`: the settings every node of a cluster
 * must share (snowflake epoch, segment range size R, ID layout version), pinned in the
 * database at first start. Like `migrate`, these work on the database directly
 * (IDGEN_DATABASE_URL, or the embedded store while no node runs on it).
 */
import { DatacenterRange } from "@idgen/core"
import { epochMillis } from "@idgen/server/config/sections/Snowflake"
import { Console, Effect, Option, Result } from "effect"
import { Command, Flag } from "effect/cli"
import { hostname, userInfo } from "node:os"
import { CliFailure } from "../CliFailure.ts"
import * as FlagValue from "../FlagValue.ts"
import { printJson, table } from "../Output.ts"
import { idgen } from "../Root.ts"
import { withConfiguredStore } from "../Store.ts"
import { applyToEnv, serverSettings } from "./Serve.ts"

const database = {
  dataDir: serverSettings.dataDir,
  databaseUrl: serverSettings.databaseUrl,
  config: serverSettings.config
}

// Loaded when a command runs, not at start-up: the other commands need none of the server.
const server = Effect.promise(async () => ({
  ...(await import("@idgen/server/storage/ClusterSettings")),
  PinnedSettings: await import("@idgen/server/storage/PinnedSettings"),
  Store: await import("@idgen/server/storage/ClusterSettingsStore"),
  Database: (await import("@idgen/server/storage/index")).Database
}))

const iso = (ms: number) => `${new Date(ms).toISOString()} (${ms})`

const settings = Command.make("settings", database, (input) =>
  Effect.gen(function*() {
    const root = yield* idgen
    yield* applyToEnv(input)
    const { Database, Store, snowflakeClearsAt } = yield* server
    const shown = yield* withConfiguredStore(() =>
      Effect.gen(function*() {
        yield* Database.migrate
        const pinned = yield* Store.read
        if (Option.isNone(pinned)) return Option.none()
        return Option.some({ pinned: pinned.value, ceiling: yield* Store.segmentCeiling(pinned.value.rangeSize) })
      })
    )
    if (Option.isNone(shown)) {
      if (root.json) return yield* printJson(null)
      return yield* Console.log("no cluster settings pinned yet: the first node to start pins its own")
    }
    const { ceiling, pinned } = shown.value
    const clearsAt = snowflakeClearsAt(pinned.epochMs, ceiling)
    if (root.json) {
      return yield* printJson({
        epoch: new Date(pinned.epochMs).toISOString(),
        epoch_ms: pinned.epochMs,
        range_size: pinned.rangeSize,
        layout_version: pinned.layoutVersion,
        pinned_at: pinned.pinnedAt.toISOString(),
        pinned_by: pinned.pinnedBy,
        segment_ceiling: ceiling,
        snowflake_clears_segments_at: new Date(clearsAt).toISOString()
      })
    }
    yield* Console.log(table(["SETTING", "VALUE"], [
      ["snowflake.epoch", iso(pinned.epochMs)],
      ["segment.range_size", pinned.rangeSize],
      ["layout_version", pinned.layoutVersion],
      ["pinned_at", pinned.pinnedAt.toISOString()],
      ["pinned_by", pinned.pinnedBy],
      ["segment IDs up to", ceiling],
      ["snowflake IDs above them from", new Date(clearsAt).toISOString()]
    ]))
  })).pipe(
  Command.withDescription("Show the cluster settings pinned in the database"),
  Command.withExamples([{ command: "idgen cluster settings --database-url postgres://idgen@db/idgen", description: "epoch, range size, layout" }])
)

const warning = [
  "WARNING: these settings decide how every node issues IDs.",
  "- Every node must then run with the new values (IDGEN_EPOCH / IDGEN_SEGMENT_RANGE_SIZE): a node configured",
  "  otherwise refuses to start (exit 78). Restart each node with them; until then, the database refuses new",
  "  segment rows from nodes still running with the old range size.",
  "- Existing segment rows keep their ranges; a new range size applies to rows created from now on.",
  "- Changes that could issue an ID twice are refused: a later epoch, a range size whose new rows would overlap",
  "  existing ones, or an epoch / range size under which snowflake IDs fall inside the segment ID space."
].join("\n")

const pin = Command.make("pin", {
  ...database,
  epoch: Flag.String("epoch").pipe(
    Flag.withDescription("New snowflake epoch: ISO 8601 date or Unix ms (only an earlier one is safe)"),
    // Read as a node reads IDGEN_EPOCH.
    FlagValue.parsed((epoch: string) => Result.fromNullishOr(epochMillis(epoch), () => "an ISO 8601 date or Unix ms")),
    Flag.optional
  ),
  rangeSize: Flag.Int("range-size").pipe(
    Flag.withDescription(`New segment range size R, 1..${DatacenterRange.MAX_RANGE_SIZE}`),
    FlagValue.parsed(FlagValue.intIn(1, DatacenterRange.MAX_RANGE_SIZE)),
    Flag.optional
  ),
  force: Flag.Boolean("force").pipe(
    Flag.withDescription("Apply the change (without it, the change is only checked and shown)"),
    Flag.withDefault(false)
  )
}, (input) =>
  Effect.gen(function*() {
    const root = yield* idgen
    yield* applyToEnv(input)
    if (Option.isNone(input.epoch) && Option.isNone(input.rangeSize)) {
      return yield* new CliFailure({ message: "nothing to pin: give --epoch and/or --range-size" })
    }
    const { Database, ID_LAYOUT_VERSION, PinnedSettings, Store } = yield* server
    const epochMs = input.epoch
    const rangeSize = input.rangeSize
    const by = { actor: `cli:${userInfo().username}@${hostname()}`, node: hostname() }

    yield* withConfiguredStore((config) =>
      Effect.gen(function*() {
        yield* Database.migrate
        const current = yield* Store.read
        // Nothing pinned yet (no node started): the rest comes from this configuration.
        const base = Option.getOrElse(current, () => ({
          epochMs: config.snowflake.epochMs,
          rangeSize: config.segment.rangeSize,
          layoutVersion: ID_LAYOUT_VERSION
        }))
        const next = {
          epochMs: Option.getOrElse(epochMs, () => base.epochMs),
          rangeSize: Option.getOrElse(rangeSize, () => base.rangeSize),
          layoutVersion: ID_LAYOUT_VERSION
        }
        const was = Option.getOrUndefined(current)
        if (was !== undefined && was.epochMs === next.epochMs && was.rangeSize === next.rangeSize) {
          return yield* Console.log("nothing to change: these settings are pinned already")
        }
        const change = (from: string | undefined, to: string) => (from === undefined ? `${to} (not pinned yet)` : from === to ? to : `${from} -> ${to}`)
        yield* Console.error([
          "pin cluster settings:",
          `  snowflake.epoch     ${change(was && iso(was.epochMs), iso(next.epochMs))}`,
          `  segment.range_size  ${change(was && String(was.rangeSize), String(next.rangeSize))}`,
          "",
          warning
        ].join("\n"))
        const { problems } = yield* PinnedSettings.review(next)
        if (problems.length > 0) return yield* new CliFailure({ message: `refused: ${problems.join("; ")}` })
        if (!input.force) return yield* new CliFailure({ message: "not changed: re-run with --force to pin these settings" })
        const pinned = yield* PinnedSettings.pin(next, by, { replace: true }).pipe(
          Effect.catchTag("PinRefused", (refused) => Effect.fail(new CliFailure({ message: `refused: ${refused.message}` })))
        )
        if (root.json) {
          return yield* printJson({ epoch_ms: pinned.epochMs, range_size: pinned.rangeSize, layout_version: pinned.layoutVersion })
        }
        yield* Console.log(
          `pinned snowflake.epoch ${iso(pinned.epochMs)}, segment.range_size ${pinned.rangeSize}; restart every node with ` +
            `IDGEN_EPOCH=${new Date(pinned.epochMs).toISOString()} IDGEN_SEGMENT_RANGE_SIZE=${pinned.rangeSize}`
        )
      })
    )
  })).pipe(
  Command.withDescription("Change the cluster settings pinned in the database (an operator decision)"),
  Command.withExamples([
    { command: "idgen cluster pin --range-size 2000000", description: "check the change and show what it means" },
    { command: "idgen cluster pin --range-size 2000000 --force", description: "then apply it" }
  ])
)

export const cluster = Command.make("cluster").pipe(
  Command.withDescription("Cluster-wide settings pinned in the database (works on the database directly)"),
  Command.withSubcommands([settings, pin])
)
