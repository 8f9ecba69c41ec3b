/**
 * The whole node as one layer: configuration (live) → logging/tracing → storage → generators →
 * IdService → HTTP, gRPC, alerting.
 */
import { Layer } from "effect"
import { AlertEvaluator } from "./alerting/AlertEvaluator.ts"
import { AuditLog } from "./audit/AuditLog.ts"
import { AuditQuery } from "./audit/AuditQuery.ts"
import { layerFromEnv } from "./config/ConfigLoader.ts"
import { LiveConfig } from "./config/HotReload.ts"
import { DegradationManager } from "./degradation/DegradationManager.ts"
import { FormattedGenerator } from "./formatted/FormattedGenerator.ts"
import { AlgorithmRouter } from "./generate/AlgorithmRouter.ts"
import { IdServiceLive } from "./generate/IdServiceLive.ts"
import { TagResolver } from "./generate/TagResolver.ts"
import { GrpcServerLive } from "./grpc/GrpcServer.ts"
import { HealthLive } from "./health/HealthLive.ts"
import { HttpServerLive } from "./http/HttpServerLive.ts"
import { EventLoopDelayLive } from "./observability/EventLoopDelay.ts"
import { HealthMetricsLive } from "./observability/HealthMetrics.ts"
import { LoggingLive } from "./observability/Logging.ts"
import { TracingLive } from "./observability/Tracing.ts"
import { SegmentGenerator } from "./segment/SegmentGenerator.ts"
import { SegmentSupply } from "./segment/SegmentSupply.ts"
import { SnowflakeGenerator } from "./snowflake/SnowflakeGenerator.ts"
import { WorkerIdentityLive } from "./snowflake/WorkerIdentityLive.ts"
import { RedisClient } from "./redis/RedisClient.ts"
import { StorageLive } from "./storage/index.ts"
import { UuidGenerator } from "./uuid/UuidGenerator.ts"

const Generators = AlgorithmRouter.layer.pipe(
  Layer.provideMerge(FormattedGenerator.layer),
  Layer.provideMerge(Layer.mergeAll(SegmentGenerator.layer, SnowflakeGenerator.layer, UuidGenerator.layer)),
  Layer.provideMerge(WorkerIdentityLive),
  Layer.provideMerge(SegmentSupply.layer)
)

const Core = Layer.mergeAll(IdServiceLive, HealthLive).pipe(
  Layer.provideMerge(DegradationManager.layer),
  Layer.provideMerge(Layer.mergeAll(AuditLog.layer, AuditQuery.layer)),
  Layer.provideMerge(Generators),
  Layer.provideMerge(TagResolver.layer)
)

/** The alert evaluator and the health and event-loop gauges it (and Prometheus) reads. */
const Operations = Layer.mergeAll(AlertEvaluator.layer, HealthMetricsLive, EventLoopDelayLive)

/**
 * Everything this node runs, given its configuration. Logging and tracing sit right above
 * the configuration so that every layer built on them logs and traces through them.
 */
export const AppLive = Layer.mergeAll(HttpServerLive, GrpcServerLive).pipe(
  Layer.provideMerge(Operations),
  Layer.provideMerge(Core),
  Layer.provideMerge(StorageLive),
  Layer.provideMerge(RedisClient.layer),
  Layer.provideMerge(Layer.mergeAll(LoggingLive, TracingLive)),
  Layer.provideMerge(LiveConfig.layer()),
  Layer.provideMerge(layerFromEnv)
)
