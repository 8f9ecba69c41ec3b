/**
 * What a worker process is besides a node:
 *
 * - its index (`WorkerPlan.INDEX_VARIABLE`) labels every metric series (`worker="<index>"`)
 *   and every log line (`worker=<index>`), so that one instance's workers can be told apart
 *   on its shared `/metrics` port and in its shared output;
 * - it shares the operator changes held in memory with the instance's other workers, through
 *   the primary (`instance/OperatorRelay.ts`), and starts with the ones in force.
 */
import { Layer, Metric, References } from "effect"
import * as OperatorRelay from "../instance/OperatorRelay.ts"

export const layer = (index: string): Layer.Layer<never> =>
  OperatorRelay.layerThroughPrimary(Number(index)).pipe(
    Layer.provideMerge(Layer.mergeAll(
      Layer.succeed(Metric.CurrentMetricAttributes, { worker: index }),
      Layer.succeed(References.CurrentLogAnnotations, { worker: index })
    ))
  )
