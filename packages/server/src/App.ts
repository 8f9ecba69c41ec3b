/**
 * The whole node as one layer: configuration → storage → generators → IdService → HTTP.
 */
import { Layer } from "effect"
import { layerFromEnv } from "./config/ConfigLoader.ts"
import { FormattedGenerator } from "./formatted/FormattedGenerator.ts"
import { AlgorithmRouter } from "./generate/AlgorithmRouter.ts"
import { IdServiceLive } from "./generate/IdServiceLive.ts"
import { TagResolver } from "./generate/TagResolver.ts"
import { HealthLive } from "./health/HealthLive.ts"
import { HttpServerLive } from "./http/HttpServerLive.ts"
import { SegmentGenerator } from "./segment/SegmentGenerator.ts"
import { SnowflakeGenerator } from "./snowflake/SnowflakeGenerator.ts"
import { WorkerIdentity } from "./snowflake/WorkerIdentity.ts"
import { StorageLive } from "./storage/index.ts"
import { UuidGenerator } from "./uuid/UuidGenerator.ts"

const Generators = AlgorithmRouter.layer.pipe(
  Layer.provideMerge(FormattedGenerator.layer),
  Layer.provideMerge(Layer.mergeAll(SegmentGenerator.layer, SnowflakeGenerator.layer, UuidGenerator.layer)),
  Layer.provideMerge(WorkerIdentity.layerStatic)
)

const Core = Layer.mergeAll(IdServiceLive, HealthLive).pipe(
  Layer.provideMerge(Generators),
  Layer.provideMerge(TagResolver.layer)
)

/** Everything this node runs, given its configuration. */
export const AppLive = HttpServerLive.pipe(
  Layer.provideMerge(Core),
  Layer.provideMerge(StorageLive),
  Layer.provideMerge(layerFromEnv)
)
