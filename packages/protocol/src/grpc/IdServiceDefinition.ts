/**
 * The `idgen.v1.IdService` definition servers register: the generated one, with the faster
 * (byte-identical) `BatchGenerateResponse` encoder. Clients use the generated definition
 * (or any client built from the `.proto`) unchanged.
 */
import { IdServiceService } from "../gen/idgen/v1/idgen.ts"
import { encodeBatchGenerateResponse } from "./BatchCodec.ts"

export const IdServiceDefinition: typeof IdServiceService = {
  ...IdServiceService,
  batchGenerate: { ...IdServiceService.batchGenerate, responseSerialize: encodeBatchGenerateResponse }
}
