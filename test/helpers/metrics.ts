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

/** One scrape: the parsed families by name. */
export class Scrape {
  readonly families: Map<string, Family>
  readonly text: string

  constructor(text: string) {
    this.text = text
    this.families = new Map((parsePrometheus as (text: string) => Family[])(text).map((family) => [family.name, family]))
  }

  family(name: string): Family {
    const family = this.families.get(name)
    if (family === undefined) throw new Error(`no metric ${name} in the scrape`)
    return family
  }

  /** The value of the sample whose labels include `labels` (0 when there is none); summed when several match. */
  value(name: string, labels: Record<string, string> = {}): number {
    let sum = 0
    for (const sample of this.family(name).metrics) {
      if (Object.entries(labels).every(([key, value]) => sample.labels?.[key] === value)) sum += Number(sample.value ?? sample.count ?? 0)
    }
    return sum
  }

  /** Every label value of every sample, for checks on what may never be a label. */
  labelValues(): string[] {
    const values: string[] = []
    for (const family of this.families.values()) for (const sample of family.metrics) values.push(...Object.values(sample.labels ?? {}))
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
