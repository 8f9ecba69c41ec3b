/**
 * Inside a worker process: its index (`WorkerPlan.INDEX_VARIABLE`) labels every metric
 * series (`worker="<index>"`) and every log line (`worker=<index>`), so that one instance's
 * workers can be told apart on its shared `/metrics` port and in its shared output.
 */
import { Layer, Metric, References } from "effect"

export const layer = (index: string): Layer.Layer<never> =>
  Layer.mergeAll(
    Layer.succeed(Metric.CurrentMetricAttributes, { worker: index }),
    Layer.succeed(References.CurrentLogAnnotations, { worker: index })
  )
