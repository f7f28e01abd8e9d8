import { request } from './dashboard';
import {
  AnalyticsDocument,
  type AnalyticsQuery,
  type AnalyticsQueryVariables,
  type Dimension,
  type Granularity,
} from './generated/graphql';

/** The analytics page's question: from `startDate` to today, by `granularity` and `groupBy`. */
export function fetchAnalytics(
  endpoint: string,
  token: string,
  options: { startDate: string; granularity: Granularity; groupBy: Dimension[]; timeZone?: string; userId?: string },
): Promise<AnalyticsQuery> {
  const variables: AnalyticsQueryVariables = {
    range: { startDate: options.startDate, endDate: null, from: null, to: null },
    granularity: options.granularity,
    groupBy: options.groupBy,
    filter: null,
    timeZone: options.timeZone ?? null,
    userId: options.userId ?? null,
  };
  return request(endpoint, token, AnalyticsDocument, variables);
}

/** One chart series per top group: its cost in every bucket, oldest first (0 where absent). */
export function costSeries(report: AnalyticsQuery['usage']): Map<string, number[]> {
  const label = (key: AnalyticsQuery['usage']['buckets'][number]['groups'][number]['key'], other: boolean) =>
    other
      ? 'other'
      : [key.model, key.provider?.id, key.apiKey?.id, key.user?.id, key.apiFormat, key.isStream, key.outcome, key.statusCode]
          .filter((v) => v !== null && v !== undefined)
          .join(' / ');
  const series = new Map<string, number[]>();
  report.buckets.forEach((bucket, i) => {
    for (const group of bucket.groups) {
      const name = label(group.key, group.isOther);
      const values = series.get(name) ?? new Array<number>(report.buckets.length).fill(0);
      values[i] = group.measures.cost;
      series.set(name, values);
    }
  });
  return series;
}
