// The dashboard: overview (cards, trend, phases, categories, recommendations) and routing.

import { api, apiUrl, el, explain, getActor, getToken, notify, setActor, setToken } from "./api.js";
import { bars, lineChart } from "./charts.js";
import { clusterFilters, initClusters, loadClusterList, reloadClusters, showCluster } from "./clusters.js";

const state = { days: 30, catalog: null, categoryNames: {} };
window.errorAnalytics = state; // for people poking around in the console (and the tests)

function card(label, value, options = {}) {
  return el("div", { className: options.alert ? "card alert" : "card", dataset: { card: options.key || label } },
    el("div", { className: "label", text: label }),
    el("div", { className: "value", text: value }),
    options.note ? el("div", { className: "muted", text: options.note }) : null);
}

function renderCards(summary, trend) {
  const change = `${trend.percentage_change > 0 ? "+" : ""}${trend.percentage_change.toFixed(1)}%`;
  document.getElementById("summary-cards").replaceChildren(
    card("Workflow runs", String(summary.total_workflows), { key: "total" }),
    card("Failed runs", String(summary.failed_workflows), { key: "failed" }),
    card("Failure rate", `${summary.failure_rate.toFixed(1)}%`, { key: "rate", alert: summary.failure_rate >= 20 }),
    card("Most problematic phase", summary.most_problematic_phase || "none",
      { key: "phase", note: summary.most_problematic_phase ? `${summary.most_problematic_phase_failures} failed runs` : "" }),
    card("Trend", trend.direction, { key: "trend", alert: trend.direction === "increasing", note: `${change} vs first half` }),
    card("Failed without error text", String(summary.failed_without_error_text), { key: "no-text" }),
  );
}

function categoryLabel(key) { return state.categoryNames[key] || key; }

function renderSpike(trend, index) {
  const point = trend.points[index];
  const box = document.getElementById("spike-detail");
  const causes = Object.entries(trend.category_daily_counts)
    .map(([key, counts]) => [key, counts[index] || 0])
    .filter(([, count]) => count > 0)
    .sort((a, b) => b[1] - a[1]);
  box.replaceChildren(
    el("strong", { text: `${point.date}: ${point.failed} of ${point.runs} runs failed (${point.failure_rate.toFixed(1)}%)` }),
    point.is_spike ? el("span", { className: "badge spike", text: "spike" }) : null,
    causes.length ? el("p", { className: "muted", text: "Errors that day by category — pick one to see its clusters:" }) : null,
    el("ul", {}, causes.map(([key, count]) => el("li", {},
      el("a", { href: "#/", text: `${categoryLabel(key)} (${count})`, on: { click: (event) => {
        event.preventDefault();
        clusterFilters({ category: key });
      } } })))),
  );
  box.hidden = false;
}

// The chart draws failed runs per day: the series the API finds spikes in (a day's failed runs
// far above the window's median), so a red marker is always among the highest points. The
// failure rate is in each point's tooltip. The window ends now: its last day is today, so far.
function renderTrend(trend) {
  const today = trend.points.length - 1;
  const points = trend.points.map((point, index) => ({
    label: index === today ? "today (partial)" : point.date.slice(5),
    value: point.failed,
    spike: point.is_spike,
    partial: index === today,
    title: `${point.date}: ${point.failed} of ${point.runs} runs failed (${point.failure_rate.toFixed(1)}%)` +
      `${index === today ? " — today (partial day)" : ""}${point.is_spike ? " — spike" : ""}`,
  }));
  lineChart(document.getElementById("trend-chart"), points, {
    integer: true, label: "Failed runs per day", onSelect: (index) => renderSpike(trend, index),
  });
  const spikes = trend.spike_days.length;
  document.getElementById("trend-caption").textContent =
    `Failure rate ${trend.direction} (${trend.percentage_change > 0 ? "+" : ""}${trend.percentage_change.toFixed(1)}%)` +
    (spikes ? ` · ${spikes} spike day${spikes > 1 ? "s" : ""} marked in red: select one to see its causes` : " · no spikes") +
    " · today is still going (hatched)";
  document.getElementById("spike-detail").hidden = true;
}

function renderPhases(breakdown) {
  const basis = breakdown.rate_basis === "runs_reaching_phase" ? "runs that reached the phase" : "all runs";
  document.getElementById("phase-caption").textContent =
    `Failure rate = runs that failed in the phase / ${basis}; red = above ${breakdown.threshold_percent}%.`;
  const items = Object.entries(breakdown.phase_error_counts)
    .filter(([phase, count]) => phase !== "Unknown" || count > 0)
    .map(([phase, count]) => ({
      label: phase, value: count, key: phase,
      note: `${(breakdown.phase_failure_rates[phase] || 0).toFixed(1)}%`,
      highlight: breakdown.phases_above_threshold.includes(phase),
    }));
  bars(document.getElementById("phase-bars"), items, { onSelect: (item) => clusterFilters({ phase: item.key }) });
}

function renderCategories(summary) {
  const items = summary.top_errors.map(([key, count]) => ({ label: categoryLabel(key), value: count, key }));
  bars(document.getElementById("category-bars"), items, {
    empty: "No errors in this period.", onSelect: (item) => clusterFilters({ category: item.key }),
  });
}

function renderRecommendations(recommendations) {
  const list = document.getElementById("recommendations");
  const items = recommendations.slice(0, 6).map((item) => el("li", {},
    el("span", { className: `badge ${item.severity}`, text: item.severity }),
    el("strong", { text: item.issue }),
    el("p", { className: "muted", text: `Root cause: ${item.root_cause}` }),
    el("p", { text: item.solution }),
    item.estimated_fix_time
      ? el("p", { className: "muted", text: `Estimated fix time: ${item.estimated_fix_time}` })
      : null));
  list.replaceChildren(...(items.length ? items : [el("li", { text: "Nothing to fix: no errors in this period." })]));
}

function updateDownloads() {
  document.getElementById("dl-report").href = apiUrl("/report.md", { days: state.days });
  document.getElementById("dl-json").href = apiUrl("/export.json", { days: state.days });
  document.getElementById("dl-csv").href = apiUrl("/clusters.csv", { days: state.days });
}

async function loadOverview() {
  const params = { days: state.days };
  try {
    const [summary, trend, breakdown, recommendations] = await Promise.all([
      api("/summary", { params }), api("/trends", { params }), api("/by-phase", { params }),
      api("/recommendations", { params }),
    ]);
    renderCards(summary, trend);
    renderTrend(trend);
    renderPhases(breakdown);
    renderCategories(summary);
    renderRecommendations(recommendations);
    document.body.dataset.overview = "loaded";
  } catch (error) {
    notify(explain(error), "error");
    document.body.dataset.overview = "failed";
  }
}

async function loadCatalog() {
  try {
    state.catalog = await api("/catalog");
    for (const category of state.catalog.categories) state.categoryNames[category.key] = category.name;
  } catch (error) {
    notify(explain(error), "error");
    state.catalog = { categories: [], statuses: [], sorts: ["size"], phases: [] };
  }
}

function route() {
  const match = window.location.hash.match(/^#\/clusters\/([^/?#]+)/);
  document.getElementById("overview-view").hidden = Boolean(match);
  document.getElementById("cluster-view").hidden = !match;
  if (match) showCluster(decodeURIComponent(match[1]), state);
  else loadClusterList(state);
  window.scrollTo(0, 0);
}

function initSettings() {
  const actor = document.getElementById("actor");
  const token = document.getElementById("token");
  actor.value = getActor() === "dashboard" ? "" : getActor();
  token.value = getToken();
  document.getElementById("settings-form").addEventListener("submit", (event) => {
    event.preventDefault();
    setActor(actor.value.trim());
    setToken(token.value.trim());
    document.getElementById("settings").open = false;
    notify("Settings saved.", "ok");
  });
}

// The header's popovers (Download, Settings): opening one closes the others.
function initMenus() {
  const menus = [...document.querySelectorAll("details.menu")];
  for (const menu of menus) {
    menu.addEventListener("toggle", () => {
      if (!menu.open) return;
      for (const other of menus) if (other !== menu) other.open = false;
    });
  }
}

async function start() {
  const days = document.getElementById("days");
  const saved = Number(new URLSearchParams(window.location.search).get("days"));
  if (saved >= 1 && saved <= 3650) {
    state.days = saved;
    if (![...days.options].some((option) => Number(option.value) === saved)) {
      days.append(el("option", { value: String(saved), text: `${saved} days` }));
    }
    days.value = String(saved);
  }
  days.addEventListener("change", () => {
    state.days = Number(days.value);
    updateDownloads();
    // clusters count the period too; the overview first reads the period's errors into them
    loadOverview().then(reloadClusters);
  });
  initMenus();
  initSettings();
  updateDownloads();
  await loadCatalog();
  initClusters(state);
  window.addEventListener("hashchange", route);
  loadOverview();
  route();
}

start();
