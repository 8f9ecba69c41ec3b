/**
 * The messages between a worker process and the primary (`node:cluster` IPC) by which an
 * instance's workers share operator changes: the worker's side is `OperatorRelay`, the
 * primary's `cluster/OperatorHub`. Node delivers the messages of one channel in order.
 *
 * - `Join` → `Joined`: a starting worker asks for the changes in force (before it serves);
 *   from then on it is sent every change.
 * - `Begin` → `Turn`: a worker that accepted an operator request asks for the instance's
 *   turn — one change at a time across the instance, so that every worker applies them in
 *   the same order; `Finish` ends the turn (with the change to relay, or without: refused
 *   here, or given up waiting).
 * - `Apply` → `Applied`: the primary has every other worker apply a change; `Relayed` tells
 *   the accepting worker which of them did not confirm it within the primary's bound.
 */
import { Schema } from "effect"
import { OperatorChange } from "./OperatorChange.ts"

/** A worker that did not confirm a change: its index, and why (refused, or no answer in time). */
export const Unconfirmed = Schema.Struct({ worker: Schema.Int, reason: Schema.String })
export type Unconfirmed = typeof Unconfirmed.Type

export const ToPrimary = Schema.Union([
  Schema.TaggedStruct("Join", {}),
  Schema.TaggedStruct("Begin", { id: Schema.Int }),
  Schema.TaggedStruct("Finish", { id: Schema.Int, change: Schema.optional(OperatorChange) }),
  Schema.TaggedStruct("Applied", { seq: Schema.Int, refused: Schema.optional(Schema.String) })
])
export type ToPrimary = typeof ToPrimary.Type

export const ToWorker = Schema.Union([
  Schema.TaggedStruct("Joined", { changes: Schema.Array(OperatorChange) }),
  Schema.TaggedStruct("Turn", { id: Schema.Int }),
  Schema.TaggedStruct("Apply", { seq: Schema.Int, change: OperatorChange }),
  Schema.TaggedStruct("Relayed", { id: Schema.Int, unconfirmed: Schema.Array(Unconfirmed) })
])
export type ToWorker = typeof ToWorker.Type

/** None for a message of any other kind. */
export const decodeToPrimary = Schema.decodeUnknownOption(ToPrimary)
export const decodeToWorker = Schema.decodeUnknownOption(ToWorker)

/** How long the primary waits for the other workers to confirm a change. */
export const confirmMillis = 5_000
