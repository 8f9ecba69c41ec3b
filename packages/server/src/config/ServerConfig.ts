/**
 * The validated, effective configuration of one node (TOML file overlaid by environment).
 * Loading and validation live in `ConfigLoader.ts`.
 */
import { Context, type Redacted } from "effect"
import type { OperationsConfigShape } from "./OperationsConfig.ts"

/** Logging, tracing, alerting, TLS and reloading: see `OperationsConfig.ts`. */
export interface ServerConfigShape extends OperationsConfigShape {
  readonly http: {
    readonly host: string
    readonly port: number
    /**
     * Request bodies above this are refused with IDGEN-COMMON-0001 — on every interface: HTTP
     * bodies, `/rpc` bodies, `/rpc/ws` frames and messages, gRPC messages.
     */
    readonly maxBodyBytes: number
    /** A client must have sent the request headers within this (Node's `headersTimeout`). */
    readonly headersTimeoutMillis: number
    /** …and the whole request within this (Node's `requestTimeout`); never below the headers'. */
    readonly requestTimeoutMillis: number
    /** Open connections of the HTTP port; more are closed at once. */
    readonly maxConnections: number
    /** Open `/rpc/ws` WebSockets; more upgrades are refused with IDGEN-COMMON-0005. */
    readonly maxWebSockets: number
  }
  readonly grpc: {
    readonly port: number
    /** Open connections of the gRPC port; more are closed at once. */
    readonly maxConnections: number
    /** Calls at once on one connection (HTTP/2 `SETTINGS_MAX_CONCURRENT_STREAMS`). */
    readonly maxConcurrentStreams: number
  }
  readonly admin: {
    /** Unset → generated at start-up and printed once (embedded default only). */
    readonly token: Redacted.Redacted<string> | undefined
  }
  readonly database: {
    /** Unset → embedded PostgreSQL-compatible store under `dataDir`. */
    readonly url: Redacted.Redacted<string> | undefined
    readonly dataDir: string
    readonly maxConnections: number
  }
  readonly redis: { readonly url: Redacted.Redacted<string> | undefined }
  readonly etcd: {
    /** Empty → the static worker id of `node.workerId`; otherwise worker ids are leased from etcd. */
    readonly endpoints: ReadonlyArray<string>
    /** Worker claims live under `{prefix}/workers/{dc}/{id}`. */
    readonly prefix: string
    /** TTL of the worker lease; it is kept alive every third of it. */
    readonly leaseTtlSeconds: number
    /**
     * Issuing stops this long before the lease could expire on the etcd side, counted from
     * the send time of the last successful keep-alive.
     */
    readonly fencingMarginMillis: number
    /** Deadline of one etcd request. */
    readonly requestTimeoutMillis: number
  }
  readonly node: {
    /** Identifies this process in audit rows and logs. */
    readonly name: string
    readonly datacenterId: number
    /** The static worker id, or with several worker processes the first one's (worker i has `workerId + i`). */
    readonly workerId: number
    /** Worker processes behind the ports (`cluster/WorkerPlan.ts`); 1: this process serves alone. */
    readonly workers: number
    /** Where the node writes the ports it listens on once bound (`ports/PortReport.ts`). */
    readonly portFile: string | undefined
  }
  readonly snowflake: {
    /** Unix ms of the layout's epoch; a cluster must share one. */
    readonly epochMs: number
    /** Clock behind by at most this → the request waits for it. */
    readonly clockWaitThresholdMillis: number
    /** Clock behind by at most this → the logical clock; beyond it IDGEN-SNOW-2001. */
    readonly clockLogicalThresholdMillis: number
    /** How far ahead of the clock the timestamp ceiling of a worker id (leased or static) is reserved. */
    readonly ceilingWindowMillis: number
    /**
     * A static worker id whose holder has not heartbeated for this long (database time) may
     * be taken over by another node configured with it.
     */
    readonly staticHoldTimeoutMillis: number
    /**
     * At start, a node with a static worker id waits at most this long for its clock to pass
     * the id's recorded ceiling; beyond it, snowflake refuses with IDGEN-SNOW-2001 until the
     * clock is within the tolerated drift (fallbacks serve meanwhile).
     */
    readonly staticCeilingWaitMillis: number
  }
  readonly segment: {
    /** R: datacenter d owns [d*R + 1, (d+1)*R]. */
    readonly rangeSize: number
    /**
     * After the database changed incarnation (a promoted standby, a point-in-time restore),
     * every (biz_tag, datacenter) pointer skips this many numbers before the next allocation
     * (`storage/StorageFence.ts`). Sound while it is at least what all nodes can allocate per
     * pointer within the replication lag.
     */
    readonly failoverSafetyGap: number
    /** Base step of new biz_tags. */
    readonly defaultStep: number
    /** Fraction of the current segment consumed that triggers preloading the next one. */
    readonly preloadThreshold: number
    /** A segment should last about this long at the observed rate. */
    readonly targetSegmentSeconds: number
    /** Upper bound of the dynamic step. */
    readonly maxStep: number
    /** A take that finds L1 and L2 empty waits at most this long for a refill (then IDGEN-SEG-1003/1002). */
    readonly takeTimeoutMillis: number
    /** A biz_tag unused this long on this node releases its ring and actor; 0 = never. */
    readonly idleReleaseMillis: number
    /** The L1 ring of hot biz_tags (`segment/L1Rings.ts`). */
    readonly l1: {
      /** Slots per ring; 0 turns L1 off. */
      readonly capacity: number
      /** Fractions of the capacity: below `low` a refill starts, which fills up to `high`. */
      readonly lowWatermark: number
      readonly highWatermark: number
      /** A biz_tag taking at least this many IDs/s on this node gets a ring. */
      readonly hotIdsPerSecond: number
      /** Bound on the sum of all rings' slots × 8 bytes. */
      readonly memoryBudgetBytes: number
    }
    /** The Redis segment pool shared by the nodes (`RedisSegmentPool.ts`); used only with `redis.url`. */
    readonly pool: {
      readonly enabled: boolean
      /** Numbers per pool segment (what one pop hands a node). */
      readonly segmentSize: number
      /** Segments one refill allocates from the database at once (as one range) and pushes. */
      readonly segmentsPerRefill: number
      /** A pop that leaves fewer segments than this in the pool starts a refill. */
      readonly lowMark: number
    }
  }
  readonly auth: {
    /** How long a verified key is trusted locally; bounds revocation delay on this node. */
    readonly cacheTtlMillis: number
    /**
     * Failed authentications per client address (token bucket, per node): past it, keys this
     * node has not verified before are refused with 429 without a lookup.
     */
    readonly failedPerIp: { readonly perSecond: number; readonly burst: number }
    /** A key the lookup found unknown is refused from memory for this long; 0 = off. */
    readonly unknownKeyCacheMillis: number
    /**
     * While the database is unreachable, a key is honoured for this long after the database
     * last confirmed it to this node; this bounds how long a key revoked elsewhere keeps
     * working on a node cut off from the database.
     */
    readonly outageGraceMillis: number
  }
  /** The degradation manager's initial thresholds (operators change them at run time). */
  readonly degradation: {
    readonly failureThreshold: number
    readonly recoveryThreshold: number
    /** Minimum time an algorithm stays unhealthy before successes count towards recovery. */
    readonly minUnhealthyMillis: number
    /** How often the manager probes generator health (database, worker id, clock). */
    readonly probeIntervalMillis: number
  }
  readonly rateLimit: {
    /** Token bucket per client IP; 0 turns it off. Workspace limits come from the workspace. */
    readonly perIpPerSecond: number
    readonly perIpBurst: number
    /** Peers whose `X-Forwarded-For` names the client (IPs, CIDR blocks); empty: the header is ignored. */
    readonly trustedProxies: ReadonlyArray<string>
  }
  readonly audit: {
    /** Audit rows older than this are deleted. */
    readonly retentionDays: number
  }
}

export class ServerConfig extends Context.Service<ServerConfig, ServerConfigShape>()(
  "@idgen/server/config/ServerConfig"
) {}
