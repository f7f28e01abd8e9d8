import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { print } from 'graphql';

import {
  AdminDashboardDocument,
  DailyChartDocument,
  ProviderHealthDocument,
  RecentActivityDocument,
  UserDashboardDocument,
  type AdminDashboardQuery,
  type DailyChartQuery,
  type ProviderHealthQuery,
  type RecentActivityQuery,
  type UserDashboardQuery,
} from './generated/graphql';

export interface GraphQLErrorEntry {
  message: string;
  path?: ReadonlyArray<string | number>;
  extensions?: { code?: string };
}

/** The server answered with errors; `data` holds whatever it could still answer. */
export class GraphQLRequestError<TData> extends Error {
  constructor(
    readonly errors: readonly GraphQLErrorEntry[],
    readonly data: TData | null,
  ) {
    super(errors.map((e) => `${e.extensions?.code ?? 'ERROR'}: ${e.message}`).join('; ') || 'no data');
    this.name = 'GraphQLRequestError';
  }

  get codes(): ReadonlySet<string> {
    return new Set(this.errors.map((e) => e.extensions?.code ?? 'ERROR'));
  }
}

export async function request<TResult, TVariables extends Record<string, unknown>>(
  endpoint: string,
  token: string,
  document: TypedDocumentNode<TResult, TVariables>,
  variables: TVariables,
): Promise<TResult> {
  const response = await fetch(endpoint, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${token}` },
    body: JSON.stringify({ query: print(document), variables }),
  });
  if (!response.ok) {
    throw new Error(`statsgraph answered HTTP ${response.status}`);
  }
  const body = (await response.json()) as { data?: TResult | null; errors?: GraphQLErrorEntry[] };
  // A view built from partial data would show zeros where a figure was refused or failed.
  if (body.errors?.length || body.data == null) {
    throw new GraphQLRequestError(body.errors ?? [], body.data ?? null);
  }
  return body.data;
}

export function fetchAdminDashboard(endpoint: string, token: string): Promise<AdminDashboardQuery> {
  return request(endpoint, token, AdminDashboardDocument, {});
}

export function fetchUserDashboard(endpoint: string, token: string): Promise<UserDashboardQuery> {
  return request(endpoint, token, UserDashboardDocument, {});
}

export type ChartRange = 7 | 30 | 90;

export function fetchDailyChart(endpoint: string, token: string, days: ChartRange): Promise<DailyChartQuery> {
  return request(endpoint, token, DailyChartDocument, { days });
}

export function fetchRecentActivity(endpoint: string, token: string, limit = 10): Promise<RecentActivityQuery> {
  return request(endpoint, token, RecentActivityDocument, { limit });
}

export function fetchProviderHealth(endpoint: string, token: string): Promise<ProviderHealthQuery> {
  return request(endpoint, token, ProviderHealthDocument, {});
}

export type ChangeType = 'increase' | 'decrease' | 'neutral';

export function changeType(today: number, yesterday: number): ChangeType {
  return today > yesterday ? 'increase' : today < yesterday ? 'decrease' : 'neutral';
}

/** Aether's K/M token notation, as its dashboard prints it (the legacy REST payloads agree). */
export function formatTokens(n: number): string {
  if (n < 1000) return String(n);
  const [scaled, unit] = n < 1_000_000 ? [n / 1000, 'K'] : [n / 1_000_000, 'M'];
  const digits = scaled >= 100 ? 0 : scaled >= 10 ? 1 : 2;
  return `${scaled.toFixed(digits)}${unit}`;
}

export function formatUsd(amount: number, digits = 2): string {
  return `$${amount.toFixed(digits)}`;
}

/** Operator figures are null for a viewer who may not see them. */
export function formatUsdOrDash(amount: number | null, digits = 2): string {
  return amount === null ? '—' : formatUsd(amount, digits);
}

export function formatPercent(value: number, digits = 1): string {
  return `${value.toFixed(digits)}%`;
}

export function formatCount(n: number): string {
  return n.toLocaleString('en-US');
}

export interface StatCard {
  key: 'requests' | 'cost' | 'tokens' | 'cache';
  value: string;
  detail: string;
  /** Today's figure, with a plus sign when it beats yesterday's. */
  change: string;
  changeType: ChangeType;
}

// Root fields are nullable (a refused root is null with its error, its siblings still answer):
// the views below take a root that did answer.
type Stats = NonNullable<AdminDashboardQuery['dashboardStats']>;

function card(
  key: StatCard['key'],
  value: string,
  detail: string,
  today: number,
  yesterday: number,
  show: (n: number) => string,
): StatCard {
  const type = changeType(today, yesterday);
  return { key, value, detail, change: (type === 'increase' ? '+' : '') + show(today), changeType: type };
}

function cacheTokens(t: { cacheCreationTokens: number; cacheReadTokens: number }): number {
  return t.cacheCreationTokens + t.cacheReadTokens;
}

export function adminCards({ allTime: all, today, yesterday }: Stats): StatCard[] {
  return [
    card('requests', formatCount(all.requests),
      `${formatCount(all.successRequests)} ok / ${formatCount(all.errorRequests)} errors`,
      today.requests, yesterday.requests, String),
    card('cost', formatUsd(all.cost), `${formatUsdOrDash(all.actualCost)} after rates`,
      today.cost, yesterday.cost, formatUsd),
    card('tokens', formatTokens(all.totalTokens), 'input, output and cache',
      today.totalTokens, yesterday.totalTokens, formatTokens),
    card('cache', formatTokens(cacheTokens(all)),
      `hit rate ${formatPercent(all.cacheHitRate)} ` +
        `(today ${formatPercent(today.cacheHitRate)}, yesterday ${formatPercent(yesterday.cacheHitRate)})`,
      cacheTokens(today), cacheTokens(yesterday), formatTokens),
  ];
}

export function monthPanels({ month }: Stats) {
  return {
    cost: formatUsd(month.cost, 4),
    actualCost: formatUsdOrDash(month.actualCost, 4),
    savings: formatUsdOrDash(month.costSavings, 4),
    tokens: formatTokens(month.totalTokens),
    cacheTokens: formatTokens(cacheTokens(month)),
    cacheCost: `${formatUsd(month.cacheCreationCost, 4)} written / ${formatUsd(month.cacheReadCost, 4)} read`,
  };
}

/** null when the viewer may not see gateway health (the server refuses it to users). */
export function healthPanel({ systemHealth: h }: Stats) {
  if (h === null) return null;
  return {
    avgResponseTime: `${h.avgResponseTime.toFixed(2)} s`,
    errorRate: formatPercent(h.errorRate, 2),
    errors: `${formatCount(h.errorRequests)} of ${formatCount(h.totalRequests)}`,
    fallbacks: formatCount(h.fallbackCount),
  };
}

export function activeOfTotal(count: { active: number; total: number } | null): string | null {
  return count === null ? null : `${count.active}/${count.total}`;
}

export function adminCounts({ apiKeys, users }: Stats) {
  return { apiKeys: activeOfTotal(apiKeys), users: activeOfTotal(users) };
}

type UserStats = NonNullable<UserDashboardQuery['dashboardStats']>;

export function quotaView(quota: UserStats['quota']) {
  if (quota === null) return null;
  const used = `${formatUsd(quota.usedUsd)} used`;
  if (quota.limitUsd === null) return { limit: 'unlimited', used, nearLimit: false };
  return { limit: formatUsd(quota.limitUsd, 0), used, nearLimit: (quota.usedPercent ?? 100) > 80 };
}

export function userSummary(d: UserStats) {
  return {
    apiKeys: activeOfTotal(d.apiKeys),
    monthRequests: formatCount(d.month.requests),
    todayRequests: formatCount(d.today.requests),
    requestsChange: changeType(d.today.requests, d.yesterday.requests),
    monthCost: formatUsd(d.month.cost),
    monthCache: `${formatTokens(cacheTokens(d.month))}, hit rate ${formatPercent(d.month.cacheHitRate)}`,
    today: `${formatUsd(d.today.cost)}, ${formatTokens(d.today.totalTokens)} tokens ` +
      `(${formatTokens(cacheTokens(d.today))} cache)`,
    tokens: {
      total: formatTokens(d.allTime.totalTokens),
      input: formatTokens(d.allTime.inputTokens),
      output: formatTokens(d.allTime.outputTokens),
      cacheCreation: formatTokens(d.allTime.cacheCreationTokens),
      cacheRead: formatTokens(d.allTime.cacheReadTokens),
    },
    quota: quotaView(d.quota),
  };
}

/** The fields both dashboards' daily tables show; the admin's rows carry more. */
type DayRow = NonNullable<UserDashboardQuery['dailyStats']>['days'][number];

function dayRow(d: DayRow) {
  return {
    date: d.date,
    requests: formatCount(d.requests),
    tokens: formatTokens(d.totalTokens),
    cost: formatUsd(d.cost, 4),
    avgResponseTime: `${d.avgResponseTime.toFixed(2)} s`,
    // The server sorts the breakdown by cost, so the first model is the day's most expensive.
    topModel: d.modelBreakdown[0]?.model ?? null,
  };
}

export function dailyTable(days: readonly DayRow[]) {
  return days.map(dayRow);
}

export function adminDailyTable(days: NonNullable<AdminDashboardQuery['dailyStats']>['days']) {
  return days.map((d) => ({ ...dayRow(d), models: d.uniqueModels, providers: d.uniqueProviders }));
}

export function chartData({ period, days, modelSummary }: NonNullable<DailyChartQuery['dailyStats']>) {
  return {
    title: `${period.startDate} – ${period.endDate} (${period.days} days)`,
    series: days.map((d) => ({
      x: d.date,
      requests: d.requests,
      tokens: d.totalTokens,
      cost: d.cost,
      latency: d.avgResponseTime,
    })),
    models: modelSummary.map((m) => ({
      model: m.model,
      requests: formatCount(m.requests),
      tokens: formatTokens(m.totalTokens),
      cost: formatUsd(m.cost, 4),
      avgResponseTime: `${m.avgResponseTime.toFixed(2)} s`,
      costPerRequest: formatUsd(m.costPerRequest, 6),
      tokensPerRequest: Math.round(m.tokensPerRequest),
    })),
  };
}

export function activityRows(requests: NonNullable<RecentActivityQuery['recentRequests']>) {
  return requests.map((r) => ({
    key: r.id,
    requestId: r.requestId,
    at: new Date(r.createdAt),
    model: r.model,
    stream: r.isStream,
    status: r.statusCode === null ? 'pending' : String(r.statusCode),
    tokens: formatTokens(r.totalTokens),
    cost: formatUsd(r.cost, 4),
    user: r.user ? { id: r.user.id, name: r.user.username } : null,
    provider: r.provider ? { id: r.provider.id, name: r.provider.displayName } : null,
  }));
}

export function providerRows(providers: NonNullable<ProviderHealthQuery['providerStatus']>) {
  return providers.map((p) => ({
    key: p.id,
    name: p.displayName || p.name,
    active: p.state === 'ACTIVE',
    requests: formatCount(p.requests),
  }));
}
