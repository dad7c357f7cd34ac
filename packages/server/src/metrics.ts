/**
 * Server metrics in the Prometheus text exposition format (version 0.0.4). Requests are labelled by
 * route pattern (`/api/v1/users/{id}`), never by raw path, so the number of series stays bounded.
 */

export const METRICS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/** Request duration buckets in seconds: from a cached lookup to a slow database round trip. */
const BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] as const;

interface Histogram {
  readonly counts: number[];
  sum: number;
  count: number;
}

/** The gauges read at scrape time. */
export interface MetricsSnapshot {
  readonly uptimeSeconds: number;
  readonly databaseReady: boolean;
}

export class Metrics {
  readonly #requests = new Map<string, { labels: Labels; value: number }>();
  readonly #durations = new Map<string, { labels: Labels; histogram: Histogram }>();
  #inFlight = 0;

  requestStarted(): void {
    this.#inFlight++;
  }

  requestFinished(method: string, route: string, status: number, seconds: number): void {
    this.#inFlight--;
    const counted = { method, route, status: String(status) };
    const key = labelText(counted);
    const counter = this.#requests.get(key) ?? { labels: counted, value: 0 };
    counter.value++;
    this.#requests.set(key, counter);
    const timed = { method, route };
    const timedKey = labelText(timed);
    const entry = this.#durations.get(timedKey) ?? {
      labels: timed,
      histogram: { counts: BUCKETS.map(() => 0), sum: 0, count: 0 },
    };
    BUCKETS.forEach((bound, i) => {
      if (seconds <= bound) entry.histogram.counts[i]!++;
    });
    entry.histogram.sum += seconds;
    entry.histogram.count++;
    this.#durations.set(timedKey, entry);
  }

  /** The exposition text. */
  render(snapshot: MetricsSnapshot): string {
    const lines: string[] = [];
    const family = (name: string, type: string, help: string) => {
      lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    };
    family('sealpost_http_requests_total', 'counter', 'HTTP requests answered, by method, route and status.');
    for (const { labels, value } of sorted(this.#requests)) {
      lines.push(`sealpost_http_requests_total${labelText(labels)} ${value}`);
    }
    family('sealpost_http_request_duration_seconds', 'histogram', 'Time to answer HTTP requests, by method and route.');
    for (const { labels, histogram } of sorted(this.#durations)) {
      const name = 'sealpost_http_request_duration_seconds';
      BUCKETS.forEach((bound, i) => {
        lines.push(`${name}_bucket${labelText({ ...labels, le: String(bound) })} ${histogram.counts[i]}`);
      });
      lines.push(`${name}_bucket${labelText({ ...labels, le: '+Inf' })} ${histogram.count}`);
      lines.push(`${name}_sum${labelText(labels)} ${histogram.sum}`);
      lines.push(`${name}_count${labelText(labels)} ${histogram.count}`);
    }
    family('sealpost_http_requests_in_flight', 'gauge', 'HTTP requests being answered now.');
    lines.push(`sealpost_http_requests_in_flight ${this.#inFlight}`);
    family('sealpost_process_uptime_seconds', 'gauge', 'Seconds since the server started.');
    lines.push(`sealpost_process_uptime_seconds ${snapshot.uptimeSeconds}`);
    family('sealpost_database_ready', 'gauge', '1 when the database answered a ping during this scrape, else 0.');
    lines.push(`sealpost_database_ready ${snapshot.databaseReady ? 1 : 0}`);
    return `${lines.join('\n')}\n`;
  }
}

type Labels = Readonly<Record<string, string>>;

function sorted<T>(map: ReadonlyMap<string, T>): T[] {
  return [...map.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, v]) => v);
}

/** `{a="1",b="x"}` with label values escaped as the format requires (backslash, quote, newline). */
function labelText(labels: Labels): string {
  const parts = Object.entries(labels).map(
    ([k, v]) => `${k}="${v.replaceAll('\\', '\\\\').replaceAll('"', '\\"').replaceAll('\n', '\\n')}"`,
  );
  return `{${parts.join(',')}}`;
}
