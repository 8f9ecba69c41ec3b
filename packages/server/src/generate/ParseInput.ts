/**
 * The parse request's context rule, shared by every interface: a sequence is named by all
 * three of workspace, group and biz_tag, or not at all.
 */
import { Errors, type Names } from "@idgen/core"
import type { ParseInput } from "./IdService.ts"

export interface ParseFields {
  readonly id: string
  readonly workspace?: Names.WorkspaceName | undefined
  readonly group?: Names.GroupName | undefined
  readonly biz_tag?: Names.BizTagName | undefined
}

/** The `IdService.parse` input of a decoded request, or its 400. */
export const parseInputOf = (payload: ParseFields): ParseInput | Errors.InvalidRequest => {
  const { id, workspace, group, biz_tag } = payload
  if (workspace === undefined && group === undefined && biz_tag === undefined) return { id }
  if (workspace === undefined || group === undefined || biz_tag === undefined) {
    return new Errors.InvalidRequest({
      message: "Invalid request body: workspace, group and biz_tag must be given together",
      details: {
        location: "body",
        errors: [{ field: "", message: "workspace, group and biz_tag must be given together" }]
      }
    })
  }
  return { id, key: { workspace, group, bizTag: biz_tag } }
}
