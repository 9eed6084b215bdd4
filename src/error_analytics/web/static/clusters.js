// The cluster list (filters, search, badges, sparklines) and the cluster page with review actions.

import { ApiError, api, el, explain, formatTime, getActor, notify } from "./api.js";
import { lineChart, sparkline } from "./charts.js";

const PAGE_SIZE = 20;
const list = { status: "", category: "", phase: "", q: "", sort: "size", offset: 0, total: 0, autoRefreshed: false };
let appState = null;
let searchTimer = null;

function option(value, label) { return el("option", { value, text: label }); }

function categoryName(key) { return (appState && appState.categoryNames[key]) || key; }

// no_error_text counts failed runs without any text: no cluster can have it
function clusterCategories() { return appState.catalog.categories.filter((category) => category.key !== "no_error_text"); }

export function initClusters(state) {
  appState = state;
  const catalog = state.catalog;
  document.getElementById("filter-status").append(...catalog.statuses.map((status) => option(status, status)));
  document.getElementById("filter-category").append(
    ...clusterCategories().map((category) => option(category.key, category.name)));
  document.getElementById("filter-phase").append(...catalog.phases.map((phase) => option(phase, phase)));
  document.getElementById("filter-sort").append(...catalog.sorts.map((sort) => option(sort, `Sort: ${sort}`)));
  const form = document.getElementById("cluster-filters");
  form.addEventListener("submit", (event) => event.preventDefault());
  for (const [id, key] of [["filter-status", "status"], ["filter-category", "category"],
    ["filter-phase", "phase"], ["filter-sort", "sort"]]) {
    document.getElementById(id).addEventListener("change", (event) => {
      list[key] = event.target.value;
      list.offset = 0;
      loadClusterList();
    });
  }
  document.getElementById("filter-text").addEventListener("input", (event) => {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(() => { list.q = event.target.value.trim(); list.offset = 0; loadClusterList(); }, 250);
  });
  document.getElementById("prev-page").addEventListener("click", () => {
    list.offset = Math.max(0, list.offset - PAGE_SIZE);
    loadClusterList();
  });
  document.getElementById("next-page").addEventListener("click", () => {
    list.offset += PAGE_SIZE;
    loadClusterList();
  });
  document.getElementById("refresh-clusters").addEventListener("click", () => refreshClusters());
}

/** Set some filters (from a chart or a spike) and show the list. */
export function clusterFilters(changes) {
  Object.assign(list, { status: "", category: "", phase: "", q: "" }, changes, { offset: 0 });
  document.getElementById("filter-status").value = list.status;
  document.getElementById("filter-category").value = list.category;
  document.getElementById("filter-phase").value = list.phase;
  document.getElementById("filter-text").value = list.q;
  if (window.location.hash.startsWith("#/clusters/")) window.location.hash = "#/";
  loadClusterList();
  document.getElementById("cluster-panel").scrollIntoView({ behavior: "smooth" });
}

async function refreshClusters() {
  const button = document.getElementById("refresh-clusters");
  button.disabled = true;
  try {
    const result = await api("/clusters/refresh", { method: "POST", params: { days: appState.days }, body: {} });
    notify(`Clustered ${result.events_seen} errors: ${result.new_clusters} new clusters, ` +
      `${result.regressed} regressed.`, "ok");
    await loadClusterList();
  } catch (error) {
    notify(explain(error), "error");
  } finally {
    button.disabled = false;
  }
}

// One status badge, the lifecycle status, which has the last word: a cluster someone reviewed
// (or resolved, ignored, merged) is not "new" any more, however recently it first appeared
// (``is_new`` only says that). Then at most one more: "spike" (reviewed and regressed only).
const STATUS_NOTES = {
  new: "not reviewed yet", reviewed: "reviewed", regressed: "resolved, then it happened again",
  resolved: "marked fixed", ignored: "muted", merged: "folded into another cluster",
};

function badges(cluster) {
  const note = cluster.status === "new" && cluster.is_new
    ? "not reviewed yet; first seen in the last 7 days" : STATUS_NOTES[cluster.status];
  return [
    el("span", { className: `badge ${cluster.status}`, text: cluster.status, title: note }),
    cluster.is_spike
      ? el("span", { className: "badge spike", text: "spike", title: "far above its usual daily errors" }) : null,
  ];
}

function clusterRow(cluster) {
  const seen = cluster.last_seen ? `last seen ${formatTime(cluster.last_seen)}` : "";
  return el("li", { className: "cluster-row", dataset: { clusterId: cluster.id, status: cluster.status } },
    el("div", {},
      el("div", {}, ...badges(cluster),
        el("a", { className: "name", href: `#/clusters/${encodeURIComponent(cluster.id)}`, text: cluster.name })),
      el("div", { className: "muted meta", text: [
        `${cluster.size} errors`, `${cluster.runs_affected} runs`, categoryName(cluster.category),
        cluster.phases.join(", "), seen].filter(Boolean).join(" · ") }),
      el("code", { className: "muted", text: cluster.template.length > 160 ? `${cluster.template.slice(0, 159)}…` : cluster.template })),
    sparkline(cluster.daily_counts || [], { label: `daily errors of ${cluster.name}` }));
}

export async function loadClusterList() {
  const target = document.getElementById("cluster-list");
  try {
    const page = await api("/clusters", { params: {
      status: list.status, category: list.category, phase: list.phase, q: list.q, sort: list.sort,
      limit: PAGE_SIZE, offset: list.offset, days: appState.days,
    } });
    const filtered = list.status || list.category || list.phase || list.q;
    if (page.total === 0 && !filtered && !list.autoRefreshed) {
      list.autoRefreshed = true; // first visit: discover clusters once
      await refreshClusters();
      return;
    }
    list.total = page.total;
    const rows = page.items.map(clusterRow);
    target.replaceChildren(...(rows.length ? rows : [el("li", { className: "muted", text: filtered
      ? "No cluster matches these filters." : "No clusters yet: select “Re-run clustering”." })]));
    const last = Math.min(page.total, list.offset + page.items.length);
    document.getElementById("page-info").textContent = page.total
      ? `${list.offset + 1}–${last} of ${page.total} · errors and runs of the last ${page.days} days` : "";
    document.getElementById("prev-page").disabled = list.offset === 0;
    document.getElementById("next-page").disabled = last >= page.total;
    document.body.dataset.clusters = "loaded";
    document.body.dataset.clustersDays = String(page.days); // the period the list counts
  } catch (error) {
    notify(explain(error), "error");
  }
}

// -- the cluster page -----------------------------------------------------------------------

function fact(label, value) { return el("div", {}, el("dt", { text: label }), el("dd", { text: value })); }

function section(title, ...children) { return [el("h3", { text: title }), ...children]; }

async function act(detail, path, body, done) {
  const payload = { actor: getActor(), expected_version: detail.cluster.version, ...body };
  try {
    const result = await api(path, { method: "POST", body: payload });
    notify(done, "ok");
    return result;
  } catch (error) {
    notify(explain(error), "error");
    if (error instanceof ApiError && error.status === 409) showCluster(detail.cluster.id);
    return null;
  }
}

function actionBox(title, ...rows) {
  return el("div", { className: "action" }, el("strong", { text: title }), ...rows);
}

function row(...children) { return el("div", { className: "row" }, ...children); }

function actions(detail, merge) {
  const cluster = detail.cluster;
  const base = `/clusters/${encodeURIComponent(cluster.id)}`;
  const reload = (result) => { if (result) showCluster(result.cluster ? result.cluster.id : cluster.id); };

  const nameInput = el("input", { id: "rename-input", value: cluster.name, maxlength: 300, "aria-label": "New name" });
  const categorySelect = el("select", { id: "category-select", "aria-label": "Category" },
    ...clusterCategories().map((category) => option(category.key, category.name)));
  categorySelect.value = cluster.category;
  const untilInput = el("input", { id: "ignore-until", type: "date", "aria-label": "Ignore until" });
  const countInput = el("input", { id: "ignore-count", type: "number", min: 1, placeholder: "N more", "aria-label": "Ignore for N more occurrences" });
  const ruleKeywords = el("input", { id: "rule-keywords", placeholder: "keywords, comma separated", "aria-label": "Rule keywords" });
  const rulePattern = el("input", { id: "rule-pattern", placeholder: "or a regular expression", "aria-label": "Rule pattern" });
  const ruleCategory = el("input", { id: "rule-category", placeholder: "or a new category key, e.g. quota_error",
    "aria-label": "New category key" });
  const preview = el("div", { id: "rule-preview", className: "muted" });
  const draft = () => ({
    keywords: ruleKeywords.value.split(",").map((word) => word.trim()).filter(Boolean),
    pattern: rulePattern.value.trim() || null, category: ruleCategory.value.trim() || categorySelect.value,
  });
  const splitBoxes = detail.templates.map((template) => el("label", {},
    el("input", { type: "checkbox", value: template.fingerprint }),
    el("span", { text: `${template.template} (${template.occurrences})` })));
  const splitName = el("input", { id: "split-name", placeholder: "name of the new cluster (optional)", "aria-label": "Split name" });

  const button = (label, handler, className = "") => el("button", {
    type: "button", className, text: label, id: `action-${label.toLowerCase()}`, on: { click: handler },
  });
  const boxes = [
    actionBox("Review",
      row(button("Accept", async () => reload(await act(detail, `${base}/accept`, {}, "Marked reviewed."))),
        button("Resolve", async () => reload(await act(detail, `${base}/resolve`, {}, "Marked resolved."))),
        cluster.status === "ignored"
          ? button("Unignore", async () => reload(await act(detail, `${base}/unignore`, {}, "Mute ended.")))
          : null)),
    actionBox("Rename", row(nameInput, button("Rename", async () =>
      reload(await act(detail, `${base}/rename`, { name: nameInput.value.trim() }, "Renamed."))))),
    actionBox("Category", row(categorySelect, button("Set", async () =>
      reload(await act(detail, `${base}/category`, { category: categorySelect.value }, "Category set."))))),
    actionBox("Merge other clusters into this one", row(merge.search), merge.results, merge.chosen,
      row(merge.attach(button("Merge", async () => {
        const ids = merge.ids();
        if (!ids.length) return;
        reload(await act(detail, `${base}/merge`, { source_ids: ids }, `Merged ${ids.length} cluster(s).`));
      })))),
    actionBox("Ignore", row(untilInput, countInput, button("Ignore", async () => {
      const body = {};
      if (untilInput.value) body.until = `${untilInput.value}T00:00:00`;
      if (countInput.value) body.occurrences = Number(countInput.value);
      reload(await act(detail, `${base}/ignore`, body, "Muted."));
    }, "secondary"))),
  ];
  if (detail.templates.length > 1) {
    boxes.push(actionBox("Split templates out", el("div", { className: "template-list" }, ...splitBoxes),
      row(splitName, button("Split", async () => {
        const chosen = splitBoxes.map((label) => label.querySelector("input")).filter((box) => box.checked).map((box) => box.value);
        const result = await act(detail, `${base}/split`, { templates: chosen, name: splitName.value.trim() || null },
          "Split into a new cluster.");
        if (result) window.location.hash = `#/clusters/${encodeURIComponent(result.cluster.id)}`;
      }))));
  }
  boxes.push(actionBox("Promote to a rule (category: the one above, or a new key)", row(ruleKeywords),
    row(rulePattern), row(ruleCategory),
    row(button("Preview", async () => {
      const result = await act(detail, `${base}/rule-preview`, draft(), "Preview ready.");
      if (result) {
        preview.replaceChildren(
          el("p", { text: `Matches ${result.matched_events} errors (${result.cluster_matched} of this cluster's ${result.cluster_events}).` }),
          ...result.examples.slice(0, 3).map((example) => el("pre", { text: example })),
          el("pre", { text: result.toml }));
      }
    }, "secondary"), button("Promote", async () => {
      const result = await act(detail, `${base}/promote`, draft(), "Rule saved to the rules file.");
      if (result) showCluster(cluster.id);
    })), preview));
  return el("div", { className: "actions" }, ...boxes);
}

const PICKER_LIMIT = 8;

/**
 * Pick the clusters to fold in: search them by name (or template, example, id), choose from the
 * results; the chosen ones show as chips with a remove button. Never typed ids.
 */
function mergePicker(target) {
  const picked = new Map(); // cluster id -> cluster
  const search = el("input", { id: "merge-search", type: "search", placeholder: "Search clusters by name",
    autocomplete: "off", "aria-label": "Search clusters to merge", "aria-controls": "merge-results" });
  const results = el("ul", { id: "merge-results", className: "picker-results", "aria-label": "Matching clusters" });
  const chosen = el("ul", { id: "merge-chosen", className: "chips picker-chosen", "aria-label": "Clusters to merge" });
  let mergeButton = null;
  let timer = null;
  let asked = 0; // answers to older searches are dropped

  const label = (cluster) => (cluster.runs_affected === null ? `${cluster.name} (${cluster.size} errors)`
    : `${cluster.name} (${cluster.size} errors, ${cluster.runs_affected} runs)`);
  function drawChosen() {
    chosen.replaceChildren(...[...picked.values()].map((cluster) => el("li", {
      className: "chip", dataset: { clusterId: cluster.id } }, el("span", { text: label(cluster) }),
    el("button", { type: "button", className: "chip-remove", text: "×", "aria-label": `Remove ${cluster.name}`,
      on: { click: () => { picked.delete(cluster.id); drawChosen(); } } }))));
    if (mergeButton) mergeButton.disabled = picked.size === 0;
  }
  async function find(text) {
    const mine = (asked += 1);
    if (!text) { results.replaceChildren(); return; }
    let page;
    try {
      page = await api("/clusters", { params: { q: text, sort: "size", limit: PICKER_LIMIT + 1, days: appState.days } });
    } catch (error) {
      notify(explain(error), "error");
      return;
    }
    if (mine !== asked) return;
    const found = page.items.filter((cluster) => cluster.id !== target.id && !picked.has(cluster.id))
      .slice(0, PICKER_LIMIT);
    results.replaceChildren(...(found.length ? found.map((cluster) => el("li", {},
      el("button", { type: "button", className: "secondary picker-choice", dataset: { clusterId: cluster.id },
        text: label(cluster), title: cluster.template, on: { click: () => {
          picked.set(cluster.id, cluster);
          drawChosen();
          results.replaceChildren();
          search.value = "";
          search.focus();
        } } })))
      : [el("li", { className: "muted", text: "No other cluster matches." })]));
  }
  search.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(() => find(search.value.trim()), 200);
  });
  return {
    search, results, chosen,
    ids: () => [...picked.keys()],
    attach(button) { mergeButton = button; button.disabled = true; return button; },
    /** Choose a suggested cluster (``ClusterDetail.similar``) and bring the merge box into view. */
    preselect(other) {
      picked.set(other.id, { id: other.id, name: other.name, size: other.errors, runs_affected: null });
      drawChosen();
      chosen.scrollIntoView({ block: "center" });
      if (mergeButton) mergeButton.focus();
    },
  };
}

// -- merge suggestions: the live clusters most like this one (TF-IDF cosine and token similarity)

function similarPanel(detail, merge) {
  const similar = detail.similar || [];
  if (!similar.length) {
    return el("p", { id: "similar-clusters", className: "muted", text: "No other cluster is similar enough to suggest a merge." });
  }
  return el("ul", { id: "similar-clusters", className: "similar" }, ...similar.map((other) => el("li", {
    dataset: { clusterId: other.id } },
  el("a", { href: `#/clusters/${encodeURIComponent(other.id)}`, text: other.name }),
  " ", el("span", { className: "badge similarity", title: "TF-IDF cosine and token similarity combined",
    text: `${Math.round(other.similarity * 100)}% similar` }),
  el("span", { className: "muted", text: ` ${other.errors} errors in the last ${detail.days} days · ${other.status} ` }),
  el("button", { type: "button", className: "secondary suggest-merge", text: "Merge into this one…",
    "aria-label": `Merge ${other.name} into this cluster`, dataset: { clusterId: other.id },
    on: { click: () => merge.preselect(other) } }))));
}

function history(detail) {
  if (!detail.history.length) return el("p", { className: "muted", text: "No review actions yet." });
  return el("ul", { className: "history" }, ...detail.history.map((entry) => {
    const changed = entry.after ? Object.keys(entry.after).filter((key) =>
      !entry.before || JSON.stringify(entry.before[key]) !== JSON.stringify(entry.after[key])) : [];
    return el("li", { className: entry.undone_by ? "undone" : "", dataset: { action: entry.action } },
      el("strong", { text: entry.action }),
      el("span", { className: "muted", text: `${formatTime(entry.at)} by ${entry.actor}` }),
      changed.length ? el("span", { text: changed.map((key) =>
        `${key}: ${JSON.stringify(entry.before ? entry.before[key] : null)} → ${JSON.stringify(entry.after[key])}`).join("; ") }) : null,
      entry.undone_by ? el("span", { className: "badge", text: "undone" }) : null,
      entry.undoable && !entry.undone_by && !entry.undo_of
        ? el("button", { type: "button", className: "secondary", text: "Undo", on: { click: async () => {
          try {
            await api(`/actions/${entry.id}/undo`, { method: "POST", body: { actor: getActor() } });
            notify("Undone.", "ok");
          } catch (error) { notify(explain(error), "error"); }
          showCluster(detail.cluster.id);
        } } }) : null);
  }));
}

/** Only an http(s) URL becomes a link (never javascript: or data:); the rest stays text. */
export function safeHttpUrl(value) {
  if (typeof value !== "string" || !value) return null;
  try {
    const url = new URL(value);
    return url.protocol === "https:" || url.protocol === "http:" ? url.href : null;
  } catch {
    return null;
  }
}

function runLink(entry) {
  const code = el("code", { text: entry.run_id });
  const href = safeHttpUrl(entry.url);
  return href ? el("a", { href, target: "_blank", rel: "noopener noreferrer", title: href }, code) : code;
}

// -- what is over-represented: the cluster's errors by phase, model and workflow template, beside
// all errors of the period (the way Sentry shows tag distributions on an issue)

const TAG_NAMES = { phase: "Phase", model: "Model", workflow_template: "Workflow template" };
const SHOWN_VALUES = 6;

function shareText(share) {
  return `${share.percent.toFixed(0)}% of these errors, ${share.overall_percent.toFixed(0)}% overall`;
}

// the cluster's share (filled) over the overall share (a tick); set through the CSSOM, which
// the page's Content-Security-Policy allows (a style attribute it would block)
function shareBar(share) {
  const bar = el("span", { className: "share-bar", "aria-hidden": "true" });
  bar.style.setProperty("--share", `${Math.min(100, share.percent)}%`);
  bar.style.setProperty("--overall", `${Math.min(100, share.overall_percent)}%`);
  return bar;
}

function breakdownPanel(detail) {
  const flagged = detail.over_represented.length
    ? el("ul", { className: "over-represented" }, ...detail.over_represented.map((share) => el("li", {
      dataset: { tag: share.tag, value: share.value } },
    el("strong", { text: `${TAG_NAMES[share.tag] || share.tag} ${share.value}` }),
    ` ${shareText(share)} `, el("span", { className: "badge lift", text: `${share.lift.toFixed(1)}×` }))))
    : el("p", { className: "muted", text: "Nothing stands out: no phase, model or workflow template is 1.5× more common here (with 3 errors or more) than overall." });
  const tables = detail.breakdown.map((breakdown) => el("div", { className: "tag-breakdown", dataset: { tag: breakdown.tag } },
    el("h4", { text: TAG_NAMES[breakdown.tag] || breakdown.tag }),
    el("ul", {}, ...breakdown.values.slice(0, SHOWN_VALUES).map((share) => el("li", {
      className: share.over_represented ? "over" : "", title: `${share.errors} of this cluster's errors; ` +
        `${share.overall_errors} of all errors in the period (lift ${share.lift.toFixed(2)})` },
    el("span", { className: "tag-value", text: share.value }),
    shareBar(share),
    el("span", { className: "muted", text: `${share.errors} · ${shareText(share)}` })))),
    breakdown.values.length > SHOWN_VALUES
      ? el("p", { className: "muted", text: `${breakdown.values.length - SHOWN_VALUES} more` }) : null));
  return el("div", { id: "cluster-breakdown" }, flagged, el("div", { className: "breakdowns" }, ...tables));
}

/** The Period changed: show the list or the cluster page again, counted in the new period. */
export function reloadClusters() {
  const match = window.location.hash.match(/^#\/clusters\/([^/?#]+)/);
  return match ? showCluster(decodeURIComponent(match[1])) : loadClusterList();
}

export async function showCluster(clusterId) {
  const target = document.getElementById("cluster-detail");
  target.replaceChildren(el("p", { className: "muted", text: "Loading…" }));
  let detail;
  try {
    detail = await api(`/clusters/${encodeURIComponent(clusterId)}`, { params: { days: appState.days } });
  } catch (error) {
    target.replaceChildren(el("p", { text: explain(error) }));
    return;
  }
  const cluster = detail.cluster;
  const runs = detail.runs || detail.run_ids.map((runId) => ({ run_id: runId, url: null }));
  const seriesChart = el("div", { className: "chart", id: "cluster-series" });
  const merge = mergePicker(cluster);
  const mute = detail.ignored_until ? `until ${formatTime(detail.ignored_until)}`
    : detail.ignore_remaining !== null ? `${detail.ignore_remaining} more occurrences` : "forever";
  target.replaceChildren(
    el("div", { className: "detail-head" }, ...badges(cluster), el("h2", { id: "cluster-name", text: cluster.name })),
    el("dl", { className: "facts" },
      fact("Id", cluster.id), fact("Status", cluster.status === "ignored" ? `ignored (${mute})` : cluster.status),
      fact("Category", `${categoryName(cluster.category)} (by ${cluster.decided_by}, ${cluster.confidence.toFixed(2)})`),
      fact(`Errors, last ${detail.days} days`, String(cluster.size)),
      fact(`Runs, last ${detail.days} days`, String(cluster.runs_affected)),
      fact("First seen in the period", formatTime(cluster.first_seen)),
      fact("Last seen", formatTime(cluster.last_seen)),
      fact("All time", `${detail.errors_all_time} errors in ${detail.runs_all_time} runs since ${formatTime(detail.first_seen_all_time)}`),
      detail.merged_into ? fact("Merged into", detail.merged_into) : null,
      detail.split_from ? fact("Split from", detail.split_from) : null,
      detail.reviewed_by ? fact("Reviewed by", `${detail.reviewed_by} ${formatTime(detail.reviewed_at)}`) : null),
    ...section("Template", el("pre", { id: "cluster-template", text: cluster.template })),
    ...section("Why grouped: the terms these errors share",
      el("div", { className: "chips" }, ...detail.top_terms.map((term) => el("span", { className: "chip", text: term })))),
    ...section("Recommendation", el("p", { text: cluster.recommendation })),
    ...section("Examples", ...detail.examples.map((example) => el("pre", { className: "example", text: example }))),
    ...section("Similar clusters — merge?", similarPanel(detail, merge)),
    ...section("Errors per day", seriesChart),
    ...section(`What is over-represented (against all ${detail.total_errors_in_window} errors of the last ${detail.days} days)`,
      breakdownPanel(detail)),
    ...section(`Message templates (${detail.templates.length})`, el("ul", {},
      ...detail.templates.map((template) => el("li", {}, el("code", { text: template.template }),
        el("span", { className: "muted", text: ` ${template.occurrences} errors, ${template.runs_affected} runs${template.pinned ? ", pinned" : ""}` }))))),
    ...section(`Recent runs (${runs.length})`, el("ul", { className: "runs" },
      ...runs.map((entry) => el("li", {}, runLink(entry))))),
    ...section("Review", actions(detail, merge)),
    ...section("History", history(detail)),
  );
  const today = detail.daily_series.length - 1; // the series ends today, which is still going
  lineChart(seriesChart, detail.daily_series.map((point, index) => ({
    label: index === today ? "today (partial)" : point.day.slice(5), value: point.count, spike: false,
    partial: index === today,
    title: `${point.day}: ${point.count} errors${index === today ? " — today (partial day)" : ""}`,
  })), { label: "Errors per day", integer: true });
  document.body.dataset.cluster = cluster.id;
  document.body.dataset.clusterDays = String(detail.days);
}
