/**
 * The whole node as one layer: configuration (live) → logging/tracing → storage → generators →
 * IdService → HTTP, gRPC, alerting.
 */
import { Effect, Layer } from "effect"
import { AlertEvaluator } from "./alerting/AlertEvaluator.ts"
import * as AlertRules from "./alerting/AlertRules.ts"
import { AuditLog } from "./audit/AuditLog.ts"
import * as AuthMetrics from "./auth/AuthMetrics.ts"
import { AuditQuery } from "./audit/AuditQuery.ts"
import { AdminToken } from "./auth/AdminToken.ts"
import { ApiKeys } from "./auth/ApiKeys.ts"
import { SharedKeyCache } from "./auth/SharedKeyCache.ts"
import { layerFromEnv } from "./config/ConfigLoader.ts"
import { LiveConfig } from "./config/HotReload.ts"
import { ServerConfig } from "./config/ServerConfig.ts"
import { DegradationManager } from "./degradation/DegradationManager.ts"
import { FormattedGenerator } from "./formatted/FormattedGenerator.ts"
import { AlgorithmRouter } from "./generate/AlgorithmRouter.ts"
import { IdService } from "./generate/IdService.ts"
import * as RequestMetrics from "./generate/RequestMetrics.ts"
import * as RetiredIncarnations from "./generate/RetiredIncarnations.ts"
import { TagResolver } from "./generate/TagResolver.ts"
import { GrpcServer } from "./grpc/GrpcServer.ts"
import { Health } from "./health/Health.ts"
import * as HttpServer from "./http/HttpServer.ts"
import * as EventLoopDelay from "./observability/EventLoopDelay.ts"
import * as HealthMetrics from "./health/HealthMetrics.ts"
import * as Logging from "./observability/Logging.ts"
import * as MetricsEndpoint from "./observability/MetricsEndpoint.ts"
import * as RuntimeMetrics from "./observability/RuntimeMetrics.ts"
import * as Tracing from "./observability/Tracing.ts"
import * as BoundPorts from "./ports/BoundPorts.ts"
import { RateLimiter } from "./ratelimit/RateLimiter.ts"
import { Admission } from "./requests/Admission.ts"
import { IdRequests } from "./requests/IdRequests.ts"
import { SegmentGenerator } from "./segment/SegmentGenerator.ts"
import { SegmentSupply } from "./segment/SegmentSupply.ts"
import { SnowflakeGenerator } from "./snowflake/SnowflakeGenerator.ts"
import * as EtcdWorkerIdentity from "./snowflake/EtcdWorkerIdentity.ts"
import { EtcdWorkerRegistry } from "./snowflake/EtcdWorkerRegistry.ts"
import * as StorageWorkerIdentity from "./snowflake/StorageWorkerIdentity.ts"
import { ChangeBroadcast } from "./redis/ChangeBroadcast.ts"
import { RedisClient } from "./redis/RedisClient.ts"
import * as Storage from "./storage/index.ts"
import * as SqlSnowflakeWorkerRepo from "./storage/SqlSnowflakeWorkerRepo.ts"
import { BizTags } from "./tenancy/BizTags.ts"
import { Workspaces } from "./tenancy/Workspaces.ts"
import { UuidGenerator } from "./uuid/UuidGenerator.ts"

/**
 * The node's worker id: leased from etcd when `etcd.endpoints` is set (`IDGEN_ETCD_ENDPOINTS`),
 * otherwise the static `node.worker_id` (`IDGEN_WORKER_ID`) of single nodes and the embedded
 * default, held in the node's own storage.
 */
/** The configuration's rules that features outside config/ own, at start-up and on every reload. */
const configChecks = [AlertRules.configProblems]

const WorkerIdentity = Layer.unwrap(
  Effect.map(ServerConfig, (config) =>
    config.etcd.endpoints.length === 0
      ? StorageWorkerIdentity.layer.pipe(Layer.provide(SqlSnowflakeWorkerRepo.layer))
      : EtcdWorkerIdentity.layer.pipe(Layer.provide(EtcdWorkerRegistry.layer)))
)

/**
 * How a node learns what the other nodes on its store changed, chosen here, once: on
 * PostgreSQL, biz_tag changes and key revocations reach it through each node's database polls
 * (every second) and, when `redis.url` is set (`IDGEN_REDIS_URL`), at once through Redis, which
 * also shares verified keys. The embedded store has one owner, this node (`DataDirLock`; the
 * CLI's offline commands take the same lock): every change is its own and reaches its caches
 * directly, so it polls nothing and shares no key (nodes on a Redis it is given have other
 * stores: their keys are not its keys).
 */
export const Peers = Layer.unwrap(
  Effect.map(ServerConfig, (config) =>
    config.database.url === undefined
      ? Layer.mergeAll(SharedKeyCache.layerLocal, ChangeBroadcast.layerSoleOwner)
      : config.redis.url === undefined
      ? Layer.mergeAll(SharedKeyCache.layerLocal, ChangeBroadcast.layerLocal)
      : Layer.mergeAll(SharedKeyCache.layerRedis, ChangeBroadcast.layerRedis).pipe(Layer.provide(RedisClient.layer)))
)

/**
 * What the nodes share through Redis when `redis.url` is set, and each node keeps to itself
 * otherwise: the rate-limit buckets and the segment supply. Chosen here, once: the services
 * do not ask.
 */
const Backends = Layer.unwrap(
  Effect.map(ServerConfig, (config) =>
    config.redis.url === undefined
      ? Layer.mergeAll(RateLimiter.layerLocal, SegmentSupply.layerLocal)
      : Layer.mergeAll(RateLimiter.layerRedis, SegmentSupply.layerRedis).pipe(Layer.provide(RedisClient.layer)))
)

const Generators = AlgorithmRouter.layer.pipe(
  Layer.provideMerge(FormattedGenerator.layer),
  Layer.provideMerge(Layer.mergeAll(SegmentGenerator.layer, SnowflakeGenerator.layer, UuidGenerator.layer)),
  Layer.provideMerge(WorkerIdentity)
)

/** The operator's rules for workspaces and biz_tags. */
const Tenancy = BizTags.layer.pipe(Layer.provideMerge(Workspaces.layer))

/** The node's health, with a check of Redis when it is configured. */
const NodeHealth = Layer.unwrap(
  Effect.map(ServerConfig, (config) =>
    config.redis.url === undefined ? Health.layer : Health.layerRedis.pipe(Layer.provide(RedisClient.layer)))
)

const Core = Layer.mergeAll(IdService.layer, NodeHealth, Tenancy, RetiredIncarnations.layer).pipe(
  Layer.provideMerge(DegradationManager.layer),
  Layer.provideMerge(Layer.mergeAll(AuditLog.layer, AuditQuery.layer)),
  Layer.provideMerge(Generators),
  Layer.provideMerge(TagResolver.layer)
)

/**
 * The alert evaluator and the gauges it (and Prometheus) reads: health, event loop, the
 * process; and `/metrics` on a port of its own when `metrics.port` is set.
 */
const Operations = Layer.mergeAll(
  AlertEvaluator.layer,
  HealthMetrics.layer,
  EventLoopDelay.layer,
  RuntimeMetrics.layer,
  RequestMetrics.layer,
  AuthMetrics.layer,
  MetricsEndpoint.layerServer
)

/**
 * The front door, one per node, whichever interface a request comes through (HTTP, its
 * fast path, gRPC, RPC): one pipeline, one verified-key cache, one record of failed
 * attempts, one set of rate-limit buckets; the operator token for the admin API.
 */
const FrontDoor = IdRequests.layer.pipe(
  Layer.provideMerge(Admission.layer),
  Layer.provideMerge(Layer.mergeAll(ApiKeys.layer, AdminToken.layer))
)

/**
 * Everything this node runs, given its configuration. Logging and tracing sit right above
 * the configuration so that every layer built on them logs and traces through them.
 */
export const layer = BoundPorts.layer.pipe(
  Layer.provideMerge(Layer.mergeAll(HttpServer.layer, GrpcServer.layer)),
  Layer.provideMerge(FrontDoor),
  Layer.provideMerge(Operations),
  Layer.provideMerge(Core),
  Layer.provideMerge(Layer.mergeAll(Peers, Backends)),
  Layer.provideMerge(Storage.layer),
  Layer.provideMerge(Layer.mergeAll(Logging.layer, Tracing.layer)),
  Layer.provideMerge(LiveConfig.layer(process.env, configChecks)),
  Layer.provideMerge(layerFromEnv(configChecks))
)
