// The dashboard served at `/`: sign in with a token, then the admin's or the user's page, and
// the analytics view (a usage report over a chosen range, granularity and group-by).
// Every figure comes from the operations in operations/*.graphql, through the typed client
// (../dashboard.ts); numbers are formatted here, in the page, never by the API.
import {
  BarController,
  BarElement,
  CategoryScale,
  Chart,
  Legend,
  LinearScale,
  LineController,
  LineElement,
  PointElement,
  Tooltip,
} from 'chart.js';

import {
  GraphQLRequestError,
  activityRows,
  changeType,
  fetchAdminDashboard,
  fetchDailyChart,
  fetchProviderHealth,
  fetchRecentActivity,
  fetchUserDashboard,
  formatCount,
  formatPercent,
  formatTokens,
  formatUsd,
  providerRows,
  request,
  type ChartRange,
} from '../dashboard';
import { chartSeries, fetchAnalytics, type AnalyticsRange, type ReportGroup, type UsageReport } from '../analytics';
import {
  ViewerDocument,
  type AdminDashboardQuery,
  type DailyChartQuery,
  type Dimension,
  type Granularity,
  type UserDashboardQuery,
  type ViewerQuery,
} from '../generated/graphql';
import { storedToken, storeToken, takeTokenFromFragment } from './session';

Chart.register(
  BarController, BarElement, CategoryScale, Legend, LinearScale, LineController, LineElement, PointElement, Tooltip,
);

const ENDPOINT = '/graphql';
const RANGES: readonly ChartRange[] = [7, 30, 90];
const PALETTE = ['#2563eb', '#16a34a', '#d97706', '#dc2626', '#7c3aed', '#0891b2', '#db2777', '#65a30d'];
const MAX_MODELS = PALETTE.length - 1; // the rest are summed as "other"

type Viewer = NonNullable<ViewerQuery['viewer']>;

// ---------------------------------------------------------------------------------------------
// DOM helpers: text only (textContent), never HTML built from data.

function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Record<string, string> = {},
  ...children: Array<Node | string>
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, value);
  node.append(...children);
  return node;
}

function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const node = document.getElementById(id);
  if (!node) throw new Error(`page has no #${id}`);
  return node as T;
}

function show(id: string, visible: boolean): void {
  byId(id).hidden = !visible;
}

// ---------------------------------------------------------------------------------------------
// Figures: a value, how to print it, and the path of the field it came from (data-figure), so
// the page can be checked against the API's answer field by field.

type Format = 'count' | 'usd' | 'usd4' | 'tokens' | 'percent' | 'percent2' | 'seconds';

const FORMATS: Record<Format, (n: number) => string> = {
  count: formatCount,
  usd: (n) => formatUsd(n),
  usd4: (n) => formatUsd(n, 4),
  tokens: formatTokens,
  percent: (n) => formatPercent(n),
  percent2: (n) => formatPercent(n, 2),
  seconds: (n) => `${n.toFixed(2)} s`,
};

interface Figure {
  label: string;
  path: string;
  value: number | null;
  format: Format;
  /** Shown when the value is null. */
  none?: string;
}

function figure(label: string, path: string, value: number | null, format: Format, none = '—'): Figure {
  return { label, path, value, format, none };
}

function card(title: string, figures: Figure[], note?: string): HTMLElement {
  const rows = figures.map((f) =>
    el('div', { class: 'figure' },
      el('dt', {}, f.label),
      el('dd', { 'data-figure': f.path, 'data-format': f.format },
        f.value === null ? (f.none ?? '—') : FORMATS[f.format](f.value))),
  );
  const body = el('article', { class: 'card' }, el('h3', {}, title), el('dl', {}, ...rows));
  if (note) body.append(el('p', { class: 'note' }, note));
  return body;
}

/** Root fields are nullable (a refused root is null with its error, its siblings answer): the
 * views take a root that did answer. */
function answered<T>(value: T | null, field: string): T {
  if (value === null) throw new Error(`${field} did not answer`);
  return value;
}

function change(today: number, yesterday: number, show: (n: number) => string): string {
  const kind = changeType(today, yesterday);
  const arrow = kind === 'increase' ? '▲' : kind === 'decrease' ? '▼' : '=';
  return `${arrow} yesterday ${show(yesterday)}`;
}

function adminCards(stats: NonNullable<AdminDashboardQuery['dashboardStats']>): HTMLElement[] {
  const { today, yesterday, month, allTime, systemHealth: health } = stats;
  const cards = [
    card('Today', [
      figure('Requests', 'today.requests', today.requests, 'count'),
      figure('Cost', 'today.cost', today.cost, 'usd'),
      figure('Tokens', 'today.totalTokens', today.totalTokens, 'tokens'),
      figure('Cache hit rate', 'today.cacheHitRate', today.cacheHitRate, 'percent'),
    ], change(today.requests, yesterday.requests, formatCount) + ' requests'),
    card('This month', [
      figure('Cost', 'month.cost', month.cost, 'usd'),
      figure('Actual cost', 'month.actualCost', month.actualCost, 'usd'),
      figure('Savings', 'month.costSavings', month.costSavings, 'usd'),
      figure('Tokens', 'month.totalTokens', month.totalTokens, 'tokens'),
    ]),
    card('All time', [
      figure('Requests', 'allTime.requests', allTime.requests, 'count'),
      figure('Cost', 'allTime.cost', allTime.cost, 'usd'),
      figure('Tokens', 'allTime.totalTokens', allTime.totalTokens, 'tokens'),
      figure('Cache hit rate', 'allTime.cacheHitRate', allTime.cacheHitRate, 'percent'),
    ]),
  ];
  if (health) {
    cards.push(card('System health (today)', [
      figure('Error rate', 'systemHealth.errorRate', health.errorRate, 'percent2'),
      figure('Avg response', 'systemHealth.avgResponseTime', health.avgResponseTime, 'seconds'),
      figure('Fallbacks', 'systemHealth.fallbackCount', health.fallbackCount, 'count'),
      figure('Active users', 'users.active', stats.users?.active ?? null, 'count'),
      figure('Active API keys', 'apiKeys.active', stats.apiKeys.active, 'count'),
    ]));
  }
  return cards;
}

function userCards(stats: NonNullable<UserDashboardQuery['dashboardStats']>): HTMLElement[] {
  const { today, yesterday, month, allTime, quota } = stats;
  return [
    card('Today', [
      figure('Requests', 'today.requests', today.requests, 'count'),
      figure('Cost', 'today.cost', today.cost, 'usd'),
      figure('Tokens', 'today.totalTokens', today.totalTokens, 'tokens'),
    ], change(today.requests, yesterday.requests, formatCount) + ' requests'),
    card('This month', [
      figure('Requests', 'month.requests', month.requests, 'count'),
      figure('Cost', 'month.cost', month.cost, 'usd'),
      figure('Cache hit rate', 'month.cacheHitRate', month.cacheHitRate, 'percent'),
    ]),
    card('All time', [
      figure('Tokens', 'allTime.totalTokens', allTime.totalTokens, 'tokens'),
      figure('Input', 'allTime.inputTokens', allTime.inputTokens, 'tokens'),
      figure('Output', 'allTime.outputTokens', allTime.outputTokens, 'tokens'),
    ]),
    quota
      ? card('Quota', [
        figure('Limit', 'quota.limitUsd', quota.limitUsd, 'usd', 'unlimited'),
        figure('Used', 'quota.usedUsd', quota.usedUsd, 'usd'),
        figure('Used share', 'quota.usedPercent', quota.usedPercent, 'percent'),
      ], quota.usedPercent !== null && quota.usedPercent > 80 ? 'near the limit' : undefined)
      : card('Quota', [], 'no quota'),
  ];
}

// ---------------------------------------------------------------------------------------------
// Charts

let trendChart: Chart | null = null;
let modelChart: Chart | null = null;

function drawTrend(data: NonNullable<DailyChartQuery['dailyStats']>): void {
  const labels = data.days.map((d) => d.date);
  trendChart?.destroy();
  trendChart = new Chart(byId<HTMLCanvasElement>('trend-chart'), {
    type: 'line',
    data: {
      labels,
      datasets: [
        { label: 'Requests', data: data.days.map((d) => d.requests), borderColor: PALETTE[0], yAxisID: 'requests',
          pointRadius: 0, borderWidth: 2 },
        { label: 'Cost (USD)', data: data.days.map((d) => d.cost), borderColor: PALETTE[2], yAxisID: 'cost',
          pointRadius: 0, borderWidth: 2 },
      ],
    },
    options: {
      animation: false,
      maintainAspectRatio: false,
      interaction: { mode: 'index', intersect: false },
      scales: {
        requests: { type: 'linear', position: 'left', beginAtZero: true,
          ticks: { callback: (v) => formatTokens(Number(v)) } },
        cost: { type: 'linear', position: 'right', beginAtZero: true, grid: { drawOnChartArea: false },
          ticks: { callback: (v) => formatUsd(Number(v)) } },
      },
      plugins: {
        tooltip: { callbacks: { label: (c) => c.dataset.yAxisID === 'cost'
          ? `Cost ${formatUsd(Number(c.raw), 4)}` : `Requests ${formatCount(Number(c.raw))}` } },
      },
    },
  });
  const requests = data.days.reduce((sum, d) => sum + d.requests, 0);
  const cost = data.days.reduce((sum, d) => sum + d.cost, 0);
  byId('trend-summary').replaceChildren(
    el('span', { 'data-total': 'requests' }, formatCount(requests)), ' requests, ',
    el('span', { 'data-total': 'cost' }, formatUsd(cost)), ` from ${data.period.startDate} to ${data.period.endDate}`,
  );
}

function drawModels(data: NonNullable<DailyChartQuery['dailyStats']>): void {
  const totals = new Map<string, number>();
  for (const day of data.days) {
    for (const m of day.modelBreakdown) totals.set(m.model, (totals.get(m.model) ?? 0) + m.cost);
  }
  const ranked = [...totals.entries()].sort((a, b) => b[1] - a[1]).map(([model]) => model);
  const named = ranked.slice(0, MAX_MODELS);
  const series = [...named, ...(ranked.length > MAX_MODELS ? ['other'] : [])];
  const datasets = series.map((model, i) => ({
    label: model,
    backgroundColor: PALETTE[i % PALETTE.length] as string,
    data: data.days.map((day) => day.modelBreakdown
      .filter((m) => (model === 'other' ? !named.includes(m.model) : m.model === model))
      .reduce((sum, m) => sum + m.cost, 0)),
  }));
  modelChart?.destroy();
  modelChart = new Chart(byId<HTMLCanvasElement>('model-chart'), {
    type: 'bar',
    data: { labels: data.days.map((d) => d.date), datasets },
    options: {
      animation: false,
      maintainAspectRatio: false,
      scales: {
        x: { stacked: true },
        y: { stacked: true, beginAtZero: true, ticks: { callback: (v) => formatUsd(Number(v)) } },
      },
      plugins: { tooltip: { callbacks: { label: (c) => `${c.dataset.label} ${formatUsd(Number(c.raw), 4)}` } } },
    },
  });
  byId('model-table').replaceChildren(table(
    ['Model', 'Requests', 'Tokens', 'Cost', 'Cost / request'],
    data.modelSummary.map((m) => [
      m.model, formatCount(m.requests), formatTokens(m.totalTokens), formatUsd(m.cost, 4), formatUsd(m.costPerRequest, 6),
    ]),
  ));
}

// ---------------------------------------------------------------------------------------------
// Tables

function table(head: string[], rows: string[][]): HTMLTableElement {
  return el('table', {},
    el('thead', {}, el('tr', {}, ...head.map((h) => el('th', { scope: 'col' }, h)))),
    el('tbody', {}, ...rows.map((r) => el('tr', {}, ...r.map((c) => el('td', {}, c))))),
  );
}

function localTime(at: Date): string {
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${at.getFullYear()}-${pad(at.getMonth() + 1)}-${pad(at.getDate())} ${pad(at.getHours())}:${pad(at.getMinutes())}`;
}

// ---------------------------------------------------------------------------------------------
// Analytics: the `usage` report over a chosen range, granularity and group-by.

type RangeChoice = '24h' | '7' | '30' | '90';
const RANGE_DAYS: Record<RangeChoice, number> = { '24h': 1, '7': 7, '30': 30, '90': 90 };
// The server refuses HOUR buckets over a longer range.
const MAX_HOUR_DAYS = 31;
// Ten top groups and "other": more colours than the overview's eight, "other" always grey.
const SERIES_PALETTE = [...PALETTE, '#9333ea', '#ea580c'];
const OTHER_COLOUR = '#9ca3af';

const DIMENSIONS: ReadonlyArray<{ value: Dimension | ''; label: string; adminOnly?: boolean }> = [
  { value: 'MODEL', label: 'Model' },
  { value: 'PROVIDER', label: 'Provider' },
  { value: 'API_KEY', label: 'API key' },
  // A user's report holds only their own requests: grouping it by user says nothing.
  { value: 'USER', label: 'User', adminOnly: true },
  { value: 'API_FORMAT', label: 'API format' },
  { value: 'STREAM', label: 'Streaming' },
  { value: 'OUTCOME', label: 'Outcome' },
  { value: 'STATUS_CODE', label: 'Status code' },
  { value: '', label: 'Nothing (totals only)' },
];

interface AnalyticsChoice {
  range: RangeChoice;
  granularity: Granularity;
  groupBy: Dimension[];
}

let analyticsChart: Chart | null = null;
let analyticsAsked = false;
// Answers may arrive out of order when the controls change quickly: only the latest is drawn.
let analyticsSeq = 0;

function fillGroupBy(admin: boolean): void {
  const select = byId<HTMLSelectElement>('analytics-group');
  select.replaceChildren(...DIMENSIONS.filter((d) => admin || !d.adminOnly)
    .map((d) => el('option', { value: d.value }, d.label)));
  select.value = 'MODEL';
}

/** HOUR is offered only where the server accepts it; a longer range falls back to DAY. */
function syncGranularity(): void {
  const days = RANGE_DAYS[byId<HTMLSelectElement>('analytics-range').value as RangeChoice];
  const granularity = byId<HTMLSelectElement>('analytics-granularity');
  const hour = granularity.querySelector<HTMLOptionElement>('option[value="HOUR"]');
  if (hour) hour.disabled = days > MAX_HOUR_DAYS;
  if (hour?.disabled && granularity.value === 'HOUR') granularity.value = 'DAY';
}

function readChoice(): AnalyticsChoice {
  const group = byId<HTMLSelectElement>('analytics-group').value as Dimension | '';
  return {
    range: byId<HTMLSelectElement>('analytics-range').value as RangeChoice,
    granularity: byId<HTMLSelectElement>('analytics-granularity').value as Granularity,
    groupBy: group ? [group] : [],
  };
}

/** What data-loaded says once a choice is drawn, so a test can wait for that very choice. */
function choiceKey(choice: AnalyticsChoice): string {
  return `${choice.range}|${choice.granularity}|${choice.groupBy.join(',') || 'none'}`;
}

function localDate(at: Date): string {
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${at.getFullYear()}-${pad(at.getMonth() + 1)}-${pad(at.getDate())}`;
}

/** Days are the viewer's calendar days (the query is sent in the browser's zone); the last
 * 24 hours are an instant range, which no zone moves. */
function rangeOf(choice: RangeChoice, now = new Date()): AnalyticsRange {
  if (choice === '24h') return { from: new Date(now.getTime() - 24 * 3600 * 1000).toISOString() };
  const first = new Date(now.getFullYear(), now.getMonth(), now.getDate() - (RANGE_DAYS[choice] - 1));
  return { startDate: localDate(first) };
}

function browserZone(): string | undefined {
  return Intl.DateTimeFormat().resolvedOptions().timeZone || undefined;
}

function dimensionValue(key: ReportGroup['key'], dimension: Dimension): string {
  switch (dimension) {
    case 'MODEL': return key.model ?? '—';
    case 'PROVIDER': return key.provider?.displayName ?? 'no provider';
    case 'API_KEY': return key.apiKey ? key.apiKey.name ?? `key ${key.apiKey.id}` : 'no key';
    case 'USER': return key.user?.username ?? 'deleted user';
    case 'API_FORMAT': return key.apiFormat ?? '—';
    case 'STREAM': return key.isStream ? 'stream' : 'non-stream';
    case 'OUTCOME': return key.outcome === 'ERROR' ? 'error' : 'success';
    case 'STATUS_CODE': return key.statusCode === null ? 'no status' : String(key.statusCode);
  }
}

function groupLabel(group: ReportGroup | null, groupBy: Dimension[]): string {
  if (group === null || group.isOther) return 'other';
  if (!groupBy.length) return 'all requests';
  return groupBy.map((d) => dimensionValue(group.key, d)).join(' / ');
}

/** A bucket's start in the report's own zone, as precise as its granularity. */
function bucketLabel(start: string, granularity: Granularity | null, timeZone: string): string {
  let parts: Record<string, string>;
  try {
    parts = Object.fromEntries(new Intl.DateTimeFormat('en-CA', {
      timeZone, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', hourCycle: 'h23',
    }).formatToParts(new Date(start)).map((p) => [p.type, p.value]));
  } catch {
    return start; // a zone this browser does not know: the UTC instant still says when
  }
  if (granularity === 'HOUR') return `${parts.month}-${parts.day} ${parts.hour}:00`;
  if (granularity === 'MONTH') return `${parts.year}-${parts.month}`;
  return `${parts.year}-${parts.month}-${parts.day}`;
}

function analyticsCards(t: UsageReport['totals']): HTMLElement[] {
  return [
    card('Requests', [
      figure('Requests', 'totals.requests', t.requests, 'count'),
      figure('Errors', 'totals.errorRequests', t.errorRequests, 'count'),
      figure('Error rate', 'totals.errorRate', t.errorRate, 'percent2'),
    ]),
    card('Tokens and cost', [
      figure('Tokens', 'totals.totalTokens', t.totalTokens, 'tokens'),
      figure('Cost', 'totals.cost', t.cost, 'usd'),
      figure('Cache hit rate', 'totals.cacheHitRate', t.cacheHitRate, 'percent'),
    ]),
    card('Response time', [
      figure('Median (p50)', 'totals.responseTime.p50', t.responseTime.p50, 'seconds'),
      figure('p99', 'totals.responseTime.p99', t.responseTime.p99, 'seconds'),
      figure('Mean', 'totals.responseTime.mean', t.responseTime.mean, 'seconds'),
    ], `over ${formatCount(t.responseTime.count)} timed requests`),
  ];
}

function seconds(value: number | null): string {
  return value === null ? '—' : FORMATS.seconds(value);
}

function drawAnalyticsChart(report: UsageReport, groupBy: Dimension[]): void {
  const datasets = chartSeries(report).map((s, i) => ({
    label: groupLabel(s.group, groupBy),
    backgroundColor: s.group === null ? OTHER_COLOUR : SERIES_PALETTE[i % SERIES_PALETTE.length] as string,
    data: s.values,
  }));
  analyticsChart?.destroy();
  analyticsChart = new Chart(byId<HTMLCanvasElement>('analytics-chart'), {
    type: 'bar',
    data: { labels: report.buckets.map((b) => bucketLabel(b.start, report.granularity, report.timeZone)), datasets },
    options: {
      animation: false,
      maintainAspectRatio: false,
      scales: {
        x: { stacked: true },
        y: { stacked: true, beginAtZero: true, ticks: { callback: (v) => formatUsd(Number(v)) } },
      },
      plugins: { tooltip: { callbacks: { label: (c) => `${c.dataset.label} ${formatUsd(Number(c.raw), 4)}` } } },
    },
  });
}

function renderAnalytics(report: UsageReport, choice: AnalyticsChoice): void {
  const dimension = DIMENSIONS.find((d) => d.value === (choice.groupBy[0] ?? ''));
  const unit = (report.granularity ?? choice.granularity).toLowerCase();
  byId('analytics-cards').replaceChildren(...analyticsCards(report.totals));
  byId('analytics-chart-title').textContent = choice.groupBy.length
    ? `Cost per ${unit} by ${dimension?.label.toLowerCase() ?? 'group'}` : `Cost per ${unit}`;
  drawAnalyticsChart(report, choice.groupBy);
  byId('analytics-summary').textContent =
    `${formatCount(report.buckets.length)} buckets from ${localTime(new Date(report.from))} to ` +
    `${localTime(new Date(report.to))} (your local time); buckets in ${report.timeZone}`;
  byId('analytics-table').replaceChildren(table(
    [choice.groupBy.length ? dimension?.label ?? 'Group' : 'Group', 'Requests', 'Errors', 'Tokens', 'Cost', 'p50', 'p99'],
    report.groups.map((g) => [
      groupLabel(g, choice.groupBy), formatCount(g.measures.requests), formatCount(g.measures.errorRequests),
      formatTokens(g.measures.totalTokens), formatUsd(g.measures.cost, 4),
      seconds(g.measures.responseTime.p50), seconds(g.measures.responseTime.p99),
    ]),
  ));
}

/** A refused choice leaves the controls and the error area, not the figures of the one before. */
function clearAnalytics(note = ''): void {
  analyticsChart?.destroy();
  analyticsChart = null;
  byId('analytics-cards').replaceChildren();
  byId('analytics-table').replaceChildren();
  byId('analytics-summary').textContent = note;
}

async function loadAnalytics(): Promise<void> {
  analyticsAsked = true;
  const seq = ++analyticsSeq;
  const view = byId('analytics');
  const choice = readChoice();
  view.dataset.loaded = '';
  delete view.dataset.failed;
  const zone = browserZone();
  let report: UsageReport;
  try {
    report = (await fetchAnalytics(ENDPOINT, token, {
      range: rangeOf(choice.range), granularity: choice.granularity, groupBy: choice.groupBy,
      ...(zone ? { timeZone: zone } : {}),
    })).usage;
  } catch (error) {
    if (seq !== analyticsSeq) return;
    clearAnalytics('No report for this choice: the reason is shown above.');
    view.dataset.failed = choiceKey(choice);
    throw error;
  }
  if (seq !== analyticsSeq) return;
  clearError('analytics');
  renderAnalytics(report, choice);
  view.dataset.loaded = choiceKey(choice);
}

function resetAnalytics(): void {
  analyticsSeq++; // an answer still on its way belongs to the token that left
  analyticsAsked = false;
  clearAnalytics();
  const view = byId('analytics');
  view.dataset.loaded = '';
  delete view.dataset.failed;
}

// ---------------------------------------------------------------------------------------------
// Pages

let token = '';
let viewer: Viewer | null = null;
let range: ChartRange = 7;

function fail(error: unknown, source = 'page'): void {
  if (error instanceof GraphQLRequestError && error.codes.has('UNAUTHENTICATED')) {
    signOut('That token was refused: ' + error.message);
    return;
  }
  const banner = byId('error');
  banner.textContent = error instanceof Error ? error.message : String(error);
  banner.dataset.source = source;
  banner.hidden = false;
}

/** Hides the error area when its message came from `source`: a new answer of one view must not
 * hide another view's failure. */
function clearError(source: string): void {
  const banner = byId('error');
  if (banner.dataset.source === source) banner.hidden = true;
}

async function loadChart(): Promise<void> {
  for (const button of document.querySelectorAll<HTMLButtonElement>('[data-range]')) {
    button.setAttribute('aria-pressed', String(Number(button.dataset.range) === range));
  }
  const page = byId('overview');
  page.dataset.chartLoaded = '';
  const dailyStats = answered((await fetchDailyChart(ENDPOINT, token, range)).dailyStats, 'dailyStats');
  drawTrend(dailyStats);
  drawModels(dailyStats);
  page.dataset.chartLoaded = String(range);
}

async function loadOverview(v: Viewer): Promise<void> {
  const admin = v.role === 'ADMIN';
  const [stats, providers, recent] = await Promise.all([
    admin
      ? fetchAdminDashboard(ENDPOINT, token).then((d) => adminCards(answered(d.dashboardStats, 'dashboardStats')))
      : fetchUserDashboard(ENDPOINT, token).then((d) => userCards(answered(d.dashboardStats, 'dashboardStats'))),
    fetchProviderHealth(ENDPOINT, token),
    fetchRecentActivity(ENDPOINT, token, 10),
    loadChart(),
  ]);
  byId('cards').replaceChildren(...stats);
  byId('providers').replaceChildren(table(
    ['Provider', 'State', 'Requests (24 h)'],
    providerRows(answered(providers.providerStatus, 'providerStatus')).map((p) => [p.name, p.active ? 'active' : 'inactive', p.requests]),
  ));
  byId('recent').replaceChildren(table(
    ['Time', 'Model', ...(admin ? ['User'] : []), 'Provider', 'Status', 'Tokens', 'Cost'],
    activityRows(answered(recent.recentRequests, 'recentRequests')).map((r) => [
      localTime(r.at), r.model, ...(admin ? [r.user?.name ?? '—'] : []), r.provider?.name ?? '—', r.status,
      r.tokens, r.cost,
    ]),
  ));
  byId('overview').dataset.loaded = v.role.toLowerCase();
}

const VIEWS = ['overview', 'analytics'] as const;
type View = (typeof VIEWS)[number];

function showView(view: View): void {
  for (const v of VIEWS) show(v, v === view);
  for (const tab of document.querySelectorAll<HTMLElement>('[data-view]')) {
    tab.setAttribute('aria-current', String(tab.dataset.view === view));
  }
  // The report is asked for when the view is first opened, not at sign-in: most visits never
  // open it, and it is the most expensive question the page asks.
  if (view === 'analytics' && !analyticsAsked) loadAnalytics().catch((e) => fail(e, 'analytics'));
}

async function signIn(candidate: string): Promise<void> {
  token = candidate;
  byId('error').hidden = true;
  try {
    viewer = answered((await request(ENDPOINT, token, ViewerDocument, {})).viewer, 'viewer');
  } catch (error) {
    fail(error);
    return;
  }
  storeToken(token);
  byId('who').textContent = `${viewer.username} (${viewer.role.toLowerCase()})`;
  document.body.dataset.role = viewer.role.toLowerCase();
  show('signin', false);
  show('signed-in', true);
  byId('page-title').textContent = viewer.role === 'ADMIN' ? 'Gateway overview' : 'Your usage';
  fillGroupBy(viewer.role === 'ADMIN');
  showView('overview');
  await loadOverview(viewer).catch(fail);
}

function signOut(message = ''): void {
  token = '';
  viewer = null;
  storeToken('');
  trendChart?.destroy();
  modelChart?.destroy();
  trendChart = modelChart = null;
  resetAnalytics();
  delete document.body.dataset.role;
  show('signed-in', false);
  for (const v of VIEWS) show(v, false);
  show('signin', true);
  const note = byId('signin-message');
  note.textContent = message;
  note.hidden = !message;
}

function start(): void {
  byId<HTMLFormElement>('signin-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const value = byId<HTMLTextAreaElement>('signin-token').value.trim();
    if (value) void signIn(value);
  });
  byId('signout').addEventListener('click', () => signOut());
  for (const button of document.querySelectorAll<HTMLButtonElement>('[data-range]')) {
    button.addEventListener('click', () => {
      range = Number(button.dataset.range) as ChartRange;
      if (RANGES.includes(range) && token) loadChart().catch(fail);
    });
  }
  syncGranularity();
  const controls = byId<HTMLFormElement>('analytics-controls');
  controls.addEventListener('submit', (event) => event.preventDefault());
  controls.addEventListener('change', () => {
    syncGranularity();
    if (token) loadAnalytics().catch((e) => fail(e, 'analytics'));
  });
  for (const tab of document.querySelectorAll<HTMLElement>('[data-view]')) {
    tab.addEventListener('click', (event) => {
      event.preventDefault();
      const view = tab.dataset.view as View;
      if (!tab.hasAttribute('aria-disabled') && VIEWS.includes(view)) showView(view);
    });
  }
  const initial = takeTokenFromFragment() ?? storedToken();
  if (initial) void signIn(initial);
  else signOut();
}

start();
