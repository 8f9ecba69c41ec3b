/**
 * The one entry point every interface (HTTP, gRPC, RPC) uses to issue and parse IDs.
 * It resolves the biz_tag (auto-creating it when the workspace allows), routes to the
 * biz_tag's algorithm and walks its fallback chain.
 */
import type { Errors, Immediate, Names } from "@idgen/core"
import { Context, type Effect } from "effect"

export interface GenerateResult {
  /** In increasing order for segment, snowflake and uuid_v7. */
  readonly ids: ReadonlyArray<string>
  /** The algorithm that actually produced the IDs, after any fallback. */
  readonly algorithm: Names.Algorithm
  /** When the IDs were issued (Unix ms). */
  readonly timestampMs: number
}

export interface ParseInput {
  readonly id: string
  /** Needed to decode segment and formatted IDs. */
  readonly key?: Names.SequenceKey | undefined
}

/** The contract's parse response body, JSON-ready (snake_case keys). */
export type ParsedId = { readonly id: string; readonly algorithm: Names.Algorithm } & Record<string, unknown>

export class IdService extends Context.Service<IdService, {
  generate(key: Names.SequenceKey, count: number): Effect.Effect<GenerateResult, Errors.IdgenError>
  /**
   * `generate`, taken at the call: when the biz_tag is cached and its generator has the
   * IDs at hand, the result (or the error) now, which a hot path answers without running a
   * fiber; else the Effect that waits for them, to be run once.
   */
  generateUnsafe(key: Names.SequenceKey, count: number): Immediate.Immediate<GenerateResult, Errors.IdgenError>
  parse(input: ParseInput): Effect.Effect<ParsedId, Errors.IdgenError>
}>()("@idgen/server/generate/IdService") {}
