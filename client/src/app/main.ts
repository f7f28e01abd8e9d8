// The dashboard served at `/`: sign in with a token, then the admin's or the user's page.
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
import {
  ViewerDocument,
  type AdminDashboardQuery,
  type DailyChartQuery,
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
// Pages

let token = '';
let viewer: Viewer | null = null;
let range: ChartRange = 7;

function fail(error: unknown): void {
  if (error instanceof GraphQLRequestError && error.codes.has('UNAUTHENTICATED')) {
    signOut('That token was refused: ' + error.message);
    return;
  }
  const banner = byId('error');
  banner.textContent = error instanceof Error ? error.message : String(error);
  banner.hidden = false;
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

// The analytics view (the `usage` root field) is not built yet. It plugs in here: an operation in
// operations/, a loader like loadOverview rendering into #analytics, and the tab enabled in
// index.html; the sign-in, token handling and navigation are shared.
const VIEWS = ['overview', 'analytics'] as const;
type View = (typeof VIEWS)[number];

function showView(view: View): void {
  for (const v of VIEWS) show(v, v === view);
  for (const tab of document.querySelectorAll<HTMLElement>('[data-view]')) {
    tab.setAttribute('aria-current', String(tab.dataset.view === view));
  }
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
