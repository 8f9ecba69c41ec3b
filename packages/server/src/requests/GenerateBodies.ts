/**
 * The generate bodies as almost every client sends them, checked by hand on the hot path:
 * the Schema decoder costs more than the rest of the body handling. Anything this does
 * not accept — a missing or mistyped field, a bad name, an out-of-range size — returns
 * undefined and goes to the Schema decoder, which accepts or rejects it with its usual
 * error, so what a client sees does not depend on which of the two answered.
 */
import { Names } from "@idgen/core"
import { type BatchGenerateRequest, type GenerateRequest, maxBatchSize } from "@idgen/protocol/http"

const isName = (value: unknown): value is string => typeof value === "string" && Names.namePattern.test(value)

/** A plain JSON object (what `JSON.parse` gives for `{...}`). */
const isObject = (json: unknown): json is Record<string, unknown> =>
  typeof json === "object" && json !== null && !Array.isArray(json)

/**
 * `GenerateRequest`'s decoding of a well-formed body (only the declared fields, as the
 * Schema decoder keeps them); undefined for anything else.
 */
export const generateRequest = (json: unknown): typeof GenerateRequest.Type | undefined => {
  if (!isObject(json)) return undefined
  const { workspace, group, biz_tag } = json
  if (!isName(workspace) || !isName(group) || !isName(biz_tag)) return undefined
  return {
    workspace: workspace as Names.WorkspaceName,
    group: group as Names.GroupName,
    biz_tag: biz_tag as Names.BizTagName
  }
}

/** `BatchGenerateRequest`'s decoding of a well-formed body; undefined for anything else. */
export const batchGenerateRequest = (json: unknown): typeof BatchGenerateRequest.Type | undefined => {
  const fields = generateRequest(json)
  if (fields === undefined) return undefined
  const size = (json as Record<string, unknown>).size
  if (typeof size !== "number" || !Number.isInteger(size) || size < 1 || size > maxBatchSize) return undefined
  return { ...fields, size }
}
