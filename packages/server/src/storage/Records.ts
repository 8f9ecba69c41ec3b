/**
 * Rows of the tenancy tables as the rest of the server sees them.
 */
import type { Names } from "@idgen/core"

/** Requests per second (`perSecond`, `burst`) and, when set, IDs per second (a batch of n takes n). */
export interface RateLimit {
  readonly perSecond: number
  readonly burst: number
  readonly ids?: { readonly perSecond: number; readonly burst: number } | undefined
}

export interface WorkspaceRecord {
  readonly id: string
  readonly name: Names.WorkspaceName
  readonly defaultAlgorithm: Names.Algorithm
  readonly autoCreateBizTags: boolean
  /** How many biz_tags it may auto-create (those an operator created do not count). */
  readonly maxAutoBizTags: number
  /** The fallback chain of the biz_tags it auto-creates. */
  readonly defaultFallback: ReadonlyArray<Names.Algorithm>
  readonly rateLimit: RateLimit | null
  readonly createdAt: Date
}

export interface BizTagRecord {
  readonly id: string
  readonly workspace: Names.WorkspaceName
  readonly group: Names.GroupName
  readonly name: Names.BizTagName
  readonly algorithm: Names.Algorithm
  /** Algorithms tried in order when the primary one fails. */
  readonly fallback: ReadonlyArray<Names.Algorithm>
  /** Base step of segment allocation. */
  readonly step: number
  readonly formatTemplate: string | null
  /** Created by a generate request naming it, not by an operator (no per-biz_tag metrics). */
  readonly autoCreated: boolean
  readonly createdAt: Date
  readonly updatedAt: Date
}

export interface ApiKeyRecord {
  readonly id: string
  readonly workspace: Names.WorkspaceName
  readonly name: string | null
  /** The public part of the key, indexed for lookup: `idgen_<workspace>_<first 8 hex>`. */
  readonly prefix: string
  /** Lowercase hex SHA-256 of the whole key. */
  readonly keyHash: string
  readonly enabled: boolean
  readonly expiresAt: Date | null
}

/** An API key as the operator lists it (never the key or its hash). */
export interface ApiKeyListing {
  readonly id: string
  readonly prefix: string
  readonly name: string | null
  readonly createdAt: Date
  readonly expiresAt: Date | null
  readonly lastUsedAt: Date | null
  readonly revokedAt: Date | null
}

/** A number range handed to one node: `start..end`, both inclusive. */
export interface AllocatedSegment {
  readonly start: number
  readonly end: number
}
