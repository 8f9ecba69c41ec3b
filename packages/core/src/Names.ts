/**
 * Tenancy names and the algorithm enum, as the contract defines them.
 */
import { Schema } from "effect"

export const namePattern = /^[a-z0-9][a-z0-9_-]{0,63}$/

const Name = Schema.String.check(
  Schema.isPattern(namePattern, { message: "must match ^[a-z0-9][a-z0-9_-]{0,63}$" })
)

export const WorkspaceName = Name.pipe(Schema.brand("WorkspaceName"))
export type WorkspaceName = typeof WorkspaceName.Type

export const GroupName = Name.pipe(Schema.brand("GroupName"))
export type GroupName = typeof GroupName.Type

export const BizTagName = Name.pipe(Schema.brand("BizTagName"))
export type BizTagName = typeof BizTagName.Type

export const Algorithm = Schema.Literals(["segment", "snowflake", "uuid_v7", "uuid_v4", "formatted"])
export type Algorithm = typeof Algorithm.Type

/** The identity of one ID sequence: `(workspace, group, biz_tag)`. */
export interface SequenceKey {
  readonly workspace: WorkspaceName
  readonly group: GroupName
  readonly bizTag: BizTagName
}

/** A stable string form of a key, for maps and logs. */
export const keyString = (key: SequenceKey): string => `${key.workspace}/${key.group}/${key.bizTag}`
