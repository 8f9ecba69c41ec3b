/** Reading a server's `/metrics` (Prometheus text) in the bench. */

/** The value of an unlabelled sample, NaN when the text has none. */
export const sampleValue = (text: string, sample: string): number => {
  const line = text.split("\n").find((l) => l.startsWith(`${sample} `))
  return line === undefined ? Number.NaN : Number(line.slice(sample.length + 1))
}
