/**
 * Groups and biz_tags: one ID sequence per (workspace, group, biz_tag).
 */
import type { Errors, Names } from "@idgen/core"
import { Context, type Effect, type Option } from "effect"
import type { BizTagRecord } from "./Records.ts"

export interface BizTagSettings {
  readonly algorithm: Names.Algorithm
  readonly fallback: ReadonlyArray<Names.Algorithm>
  readonly step: number
  readonly formatTemplate: string | null
}

export type BizTagPatch = Partial<BizTagSettings>

export class BizTagRepo extends Context.Service<BizTagRepo, {
  /**
   * Creates the group if needed. Conflict when the biz_tag exists; NotFound when the workspace
   * does not. A deleted biz_tag comes back as the same row with a new id, its counter going on
   * above everything the old id was handed; Conflict when that would change the rendering of
   * numbers it issued (`Rendering`).
   */
  create(
    key: Names.SequenceKey,
    settings: BizTagSettings
  ): Effect.Effect<BizTagRecord, Errors.InvalidRequest | Errors.Conflict | Errors.NotFound | Errors.DatabaseUnavailable>
  /**
   * Returns the existing biz_tag or creates it with `settings`; safe under concurrent callers.
   * NotFound for a deleted biz_tag, as `autoCreate`.
   */
  ensure(
    key: Names.SequenceKey,
    settings: BizTagSettings
  ): Effect.Effect<BizTagRecord, Errors.NotFound | Errors.DatabaseUnavailable>
  /**
   * `ensure` for a biz_tag created on first use (the workspace's auto-create): the new row
   * is marked auto-created, and created only while the workspace has auto-created fewer
   * than its `max_auto_biz_tags` — None when it has. Race-safe like `ensure`, and exact:
   * concurrent auto-creates of a workspace never pass its limit. NotFound for a deleted
   * biz_tag: first use does not bring it back.
   */
  autoCreate(
    key: Names.SequenceKey,
    settings: BizTagSettings
  ): Effect.Effect<Option.Option<BizTagRecord>, Errors.NotFound | Errors.DatabaseUnavailable>
  /** The live biz_tag (not a deleted one). */
  find(key: Names.SequenceKey): Effect.Effect<Option.Option<BizTagRecord>, Errors.DatabaseUnavailable>
  list(workspace: Names.WorkspaceName): Effect.Effect<ReadonlyArray<BizTagRecord>, Errors.DatabaseUnavailable>
  /** Conflict when the patch changes the rendering of numbers the biz_tag issued (`Rendering`). */
  update(
    key: Names.SequenceKey,
    patch: BizTagPatch
  ): Effect.Effect<BizTagRecord, Errors.InvalidRequest | Errors.NotFound | Errors.Conflict | Errors.DatabaseUnavailable>
  /** Deletes the biz_tag (a tombstone keeping its numbers used); NotFound when there is none. */
  remove(key: Names.SequenceKey): Effect.Effect<void, Errors.NotFound | Errors.DatabaseUnavailable>
  /** biz_tags updated (not created) after `since`, and when the database looked (its clock). */
  updatedSince(since: Date): Effect.Effect<{
    readonly updated: ReadonlyArray<{ readonly key: Names.SequenceKey; readonly updatedAt: Date }>
    readonly checkedAt: Date
  }, Errors.DatabaseUnavailable>
}>()("@idgen/server/storage/BizTagRepo") {}
