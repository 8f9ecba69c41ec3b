/**
 * Which biz_tag a call is about: `"workspace/group/biz_tag"` or the three names.
 */
import { Errors } from "@idgen/core"

export type TagRef = string | { readonly workspace: string; readonly group: string; readonly bizTag: string }

export interface Sequence {
  readonly workspace: string
  readonly group: string
  readonly biz_tag: string
}

/** The request fields of `tag`; a malformed path is the contract's 400, before any call. */
export const sequenceOf = (tag: TagRef): Sequence | Errors.InvalidRequest => {
  if (typeof tag !== "string") return { workspace: tag.workspace, group: tag.group, biz_tag: tag.bizTag }
  const parts = tag.split("/")
  if (parts.length !== 3 || parts.some((part) => part === "")) {
    return new Errors.InvalidRequest({
      message: `Expected workspace/group/biz_tag, got ${JSON.stringify(tag)}`,
      details: { tag }
    })
  }
  return { workspace: parts[0]!, group: parts[1]!, biz_tag: parts[2]! }
}

/** The key of a biz_tag's prefetch buffer. */
export const keyOf = (sequence: Sequence): string => `${sequence.workspace}/${sequence.group}/${sequence.biz_tag}`
