/**
 * The node's logger (`logging/LogOutput.ts`): `log.format`, with `log.level` read per line
 * from `LiveConfig`, so a reload changes the level of every fiber at once.
 */
import { Effect, Layer } from "effect"
import { LiveConfig } from "../config/HotReload.ts"
import * as LogOutput from "../logging/LogOutput.ts"

export const layer: Layer.Layer<never, never, LiveConfig> = Layer.unwrap(
  Effect.map(LiveConfig, (live) => LogOutput.layer(live.current().log.format, () => live.current().log.level))
)
