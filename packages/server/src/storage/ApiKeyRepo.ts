/**
 * API keys, stored as SHA-256 hashes only.
 */
import type { Errors, Names } from "@idgen/core"
import { Context, type Effect, type Option } from "effect"
import type { Page, PageRequest } from "./Page.ts"
import type { ApiKeyListing, ApiKeyRecord } from "./Records.ts"

export interface NewApiKey {
  readonly workspace: Names.WorkspaceName
  readonly name: string | null
  readonly prefix: string
  readonly keyHash: string
  readonly expiresAt: Date | null
}

export class ApiKeyRepo extends Context.Service<ApiKeyRepo, {
  /**
   * NotFound when the workspace does not exist; Conflict when the prefix is already taken
   * (a random-part collision: generate a new key and try again).
   */
  insert(
    key: NewApiKey
  ): Effect.Effect<ApiKeyRecord, Errors.InvalidRequest | Errors.NotFound | Errors.Conflict | Errors.DatabaseUnavailable>
  /** The key with this prefix, whatever its state (check `enabled` and `expiresAt`). */
  findByPrefix(prefix: string): Effect.Effect<Option.Option<ApiKeyRecord>, Errors.DatabaseUnavailable>
  /** Disables the key. NotFound when no such key exists in the workspace. */
  revoke(workspace: Names.WorkspaceName, id: string): Effect.Effect<void, Errors.NotFound | Errors.DatabaseUnavailable>
  /** The workspace's keys, oldest first; NotFound when the workspace does not exist. */
  list(
    workspace: Names.WorkspaceName,
    page: PageRequest
  ): Effect.Effect<Page<ApiKeyListing>, Errors.NotFound | Errors.DatabaseUnavailable>
  /** Records uses of keys (id → when), never moving a key's `last_used_at` back. */
  recordUse(uses: ReadonlyMap<string, Date>): Effect.Effect<void, Errors.DatabaseUnavailable>
  /** Ids of the keys revoked after `since`, and the database's time of the answer (the next `since`). */
  revokedSince(since: Date): Effect.Effect<{ readonly ids: ReadonlyArray<string>; readonly checkedAt: Date }, Errors.DatabaseUnavailable>
}>()("@idgen/server/storage/ApiKeyRepo") {}
