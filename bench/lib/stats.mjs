// Small statistics for bench results.

/** The p-th percentile (0..100) by nearest rank; NaN for no samples. */
export function percentile(values, p) {
  if (values.length === 0) return NaN
  const sorted = Float64Array.from(values).sort()
  const rank = Math.ceil((p / 100) * sorted.length)
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))]
}

export function median(values) {
  if (values.length === 0) return NaN
  const sorted = Float64Array.from(values).sort()
  const middle = sorted.length >> 1
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
}

/** Median with min..max over runs. */
export function summarize(values) {
  const finite = values.filter((value) => Number.isFinite(value))
  return { median: median(finite), min: Math.min(...finite), max: Math.max(...finite), runs: values }
}
