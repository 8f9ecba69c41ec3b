/**
 * Entry point: `npm start`. Configuration comes from IDGEN_* variables and the optional
 * IDGEN_CONFIG file; with no IDGEN_DATABASE_URL the node runs on its embedded store.
 */
import { NodeRuntime } from "@effect/platform-node"
import { Console, Effect, Layer } from "effect"
import * as App from "./App.ts"

Layer.launch(App.layer).pipe(
  Effect.catchTag("ConfigInvalid", (error) =>
    Console.error(`idgen: ${error.message}`).pipe(Effect.andThen(Effect.sync(() => process.exit(78))))),
  NodeRuntime.runMain
)
