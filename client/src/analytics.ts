import { request } from './dashboard';
import {
  AnalyticsDocument,
  type AnalyticsQuery,
  type AnalyticsQueryVariables,
  type Dimension,
  type Granularity,
} from './generated/graphql';

export type UsageReport = AnalyticsQuery['usage'];
export type ReportGroup = UsageReport['groups'][number];
type BucketKey = UsageReport['buckets'][number]['groups'][number]['key'];

/** Whole days from `startDate` to today (in the query's zone), or an instant range from `from`
 * to now: the server takes exactly one of the two. */
export type AnalyticsRange = { startDate: string } | { from: string };

/** The analytics page's question: a range to now, by `granularity` and `groupBy`. */
export function fetchAnalytics(
  endpoint: string,
  token: string,
  options: { range: AnalyticsRange; granularity: Granularity; groupBy: Dimension[]; timeZone?: string; userId?: string },
): Promise<AnalyticsQuery> {
  const { range } = options;
  const variables: AnalyticsQueryVariables = {
    range: {
      startDate: 'startDate' in range ? range.startDate : null,
      endDate: null,
      from: 'from' in range ? range.from : null,
      to: null,
    },
    granularity: options.granularity,
    groupBy: options.groupBy,
    filter: null,
    timeZone: options.timeZone ?? null,
    userId: options.userId ?? null,
  };
  return request(endpoint, token, AnalyticsDocument, variables);
}

/** What tells one group from another in every list of the report. Buckets select only the ids
 * of providers, keys and users, so the ids (not the names) are what the lists share. */
export function groupId(key: BucketKey, isOther: boolean): string {
  return isOther
    ? 'other'
    : [key.model, key.provider?.id, key.apiKey?.id, key.user?.id, key.apiFormat, key.isStream, key.outcome, key.statusCode]
        .filter((v) => v !== null && v !== undefined)
        .join(' / ');
}

/** One chart series per top group: its cost in every bucket, oldest first (0 where absent). */
export function costSeries(report: UsageReport): Map<string, number[]> {
  const series = new Map<string, number[]>();
  report.buckets.forEach((bucket, i) => {
    for (const group of bucket.groups) {
      const name = groupId(group.key, group.isOther);
      const values = series.get(name) ?? new Array<number>(report.buckets.length).fill(0);
      values[i] = group.measures.cost;
      series.set(name, values);
    }
  });
  return series;
}

/** The chart's series: the range's top groups in the table's order, then one "other" series.
 * A bucket ranks its own top groups, so a group that is top in one bucket but not over the
 * whole range is folded into "other" with the bucket's own rest: the series stay the table's
 * rows, and every bucket still stacks up to its total. */
export function chartSeries(report: UsageReport): Array<{ id: string; group: ReportGroup | null; values: number[] }> {
  const perBucket = costSeries(report);
  const top = report.groups.filter((g) => !g.isOther);
  const named = new Set(top.map((g) => groupId(g.key, false)));
  const zero = () => new Array<number>(report.buckets.length).fill(0);
  const out = top.map((g) => {
    const id = groupId(g.key, false);
    return { id, group: g as ReportGroup | null, values: perBucket.get(id) ?? zero() };
  });
  const rest = zero();
  let hasRest = report.groups.some((g) => g.isOther);
  for (const [id, values] of perBucket) {
    if (named.has(id)) continue;
    hasRest = true;
    values.forEach((v, i) => { rest[i] = (rest[i] ?? 0) + v; });
  }
  if (hasRest) out.push({ id: 'other', group: null, values: rest });
  return out;
}
