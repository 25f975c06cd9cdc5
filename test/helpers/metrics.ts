// A real Prometheus text-format parser, so the tests read what Prometheus would.
import parsePrometheus from 'parse-prometheus-text-format'

export interface Sample {
  labels?: Record<string, string>
  value?: string
  buckets?: Record<string, string>
  count?: string
  sum?: string
}

export interface Family {
  name: string
  help: string
  type: string
  metrics: Sample[]
}

const parse = parsePrometheus as (text: string) => Family[]

/** One scrape: the parsed families by name. */
export class Scrape {
  readonly families: Map<string, Family>
  /**
   * Every series by its own name: histograms as their `_bucket`, `_sum` and `_count` series. The
   * parser folds a histogram's label sets into one sample, so a second parse reads them untyped.
   */
  readonly series: Map<string, Family>
  readonly text: string

  constructor(text: string) {
    this.text = text
    this.families = new Map(parse(text).map((family) => [family.name, family]))
    const untyped = text.replace(/^# TYPE (\S+) (histogram|summary)$/gm, '# TYPE $1 untyped')
    this.series = new Map(parse(untyped).map((family) => [family.name, family]))
  }

  family(name: string): Family {
    const family = this.families.get(name)
    if (family === undefined) throw new Error(`no metric ${name} in the scrape`)
    return family
  }

  /**
   * The value of the series whose labels include `labels` (0 when there is none), summed when
   * several match. A histogram is read through its series: `name_count`, `name_sum`.
   */
  value(name: string, labels: Record<string, string> = {}): number {
    const series = this.series.get(name)
    if (series === undefined) throw new Error(`no series ${name} in the scrape`)
    let sum = 0
    for (const sample of series.metrics) {
      if (Object.entries(labels).every(([key, value]) => sample.labels?.[key] === value)) sum += Number(sample.value)
    }
    return sum
  }

  /** Every label value of every sample, for checks on what may never be a label. */
  labelValues(): string[] {
    const values: string[] = []
    for (const family of this.series.values()) for (const sample of family.metrics) values.push(...Object.values(sample.labels ?? {}))
    return values
  }
}

/** GETs the metrics route of a server on 127.0.0.1 and parses it; throws on a non-200 answer. */
export async function scrape(port: number, path = '/metrics'): Promise<Scrape> {
  const response = await fetch(`http://127.0.0.1:${port}${path}`)
  const text = await response.text()
  if (response.status !== 200) throw new Error(`GET ${path}: ${response.status} ${text}`)
  return new Scrape(text)
}

/** Scrapes until `check` holds (values read at scrape time follow events on other sockets), or throws after `timeoutMs`. */
export async function scrapeUntil(port: number, check: (scrape: Scrape) => boolean, timeoutMs = 5000, path = '/metrics'): Promise<Scrape> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const result = await scrape(port, path)
    if (check(result)) return result
    if (Date.now() > deadline) throw new Error(`metrics never matched; last scrape:\n${result.text}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}
