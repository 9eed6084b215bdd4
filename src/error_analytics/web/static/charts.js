// Small SVG charts drawn by hand: no dependency, works offline, text only through textContent.

const SVG_NS = "http://www.w3.org/2000/svg";

export function svg(tag, attributes = {}, text = null) {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, String(value));
  if (text !== null) node.textContent = String(text);
  return node;
}

function niceMax(value) {
  if (value <= 0) return 1;
  const power = Math.pow(10, Math.floor(Math.log10(value)));
  for (const step of [1, 2, 2.5, 5, 10]) {
    if (step * power >= value) return step * power;
  }
  return 10 * power;
}

const drawn = new Map(); // container -> arguments, to redraw at the new width when the window resizes
let resizeTimer = null;

window.addEventListener("resize", () => {
  clearTimeout(resizeTimer);
  resizeTimer = setTimeout(() => {
    for (const [container, args] of drawn) {
      if (container.isConnected) lineChart(container, ...args); else drawn.delete(container);
    }
  }, 150);
});

let patternCount = 0; // each chart's hatch pattern has its own id (a hidden chart's would not paint)

/**
 * A line chart of one daily series with spike days marked.
 * points: [{label, value, spike, partial, title}], options: {unit, integer, label, onSelect(index)}
 * A ``partial`` point (today, still going) is drawn hollow on a hatched band, reached by a
 * dashed segment: its value is not comparable with the complete days yet.
 */
export function lineChart(container, points, options = {}) {
  drawn.set(container, [points, options]);
  // drawn at the container's own width, so text keeps its size on a phone
  const width = Math.round(Math.min(1100, Math.max(300, container.clientWidth || 720)));
  const height = width < 500 ? 200 : 240;
  const pad = { left: 44, right: 12, top: 14, bottom: 28 };
  const unit = options.unit || "";
  const chart = svg("svg", {
    viewBox: `0 0 ${width} ${height}`, class: "line-chart", role: "img",
    "aria-label": options.label || "chart", preserveAspectRatio: "xMidYMid meet",
  });
  const highest = Math.max(0, ...points.map((point) => point.value));
  // counts get whole-number ticks (4 steps); rates get round ones
  const maxValue = options.integer ? Math.max(4, Math.ceil(highest / 4) * 4) : niceMax(highest);
  const plotWidth = width - pad.left - pad.right;
  const plotHeight = height - pad.top - pad.bottom;
  const x = (index) => pad.left + (points.length <= 1 ? plotWidth / 2 : (index * plotWidth) / (points.length - 1));
  const y = (value) => pad.top + plotHeight - (value / maxValue) * plotHeight;

  for (let tick = 0; tick <= 4; tick += 1) {
    const value = (maxValue * tick) / 4;
    chart.append(svg("line", { x1: pad.left, x2: width - pad.right, y1: y(value), y2: y(value), class: "grid" }));
    chart.append(svg("text", { x: pad.left - 6, y: y(value) + 4, class: "axis", "text-anchor": "end" },
      `${Number.isInteger(value) ? value : value.toFixed(1)}${unit}`));
  }
  const labelEvery = Math.max(1, Math.ceil(points.length / Math.max(2, Math.floor(width / 90))));
  const textWidth = (text) => String(text).length * 6.5; // 11px axis text, roughly
  const lastIndex = points.length - 1;
  // the last label (end-anchored, maybe "today (partial)") starts here; nothing may run into it
  const lastStart = lastIndex >= 0 ? x(lastIndex) - textWidth(points[lastIndex].label) : 0;
  points.forEach((point, index) => {
    const last = index === lastIndex;
    const crowded = !last && (lastIndex - index < labelEvery / 2 || x(index) + textWidth(point.label) / 2 + 8 > lastStart);
    if ((index % labelEvery === 0 && !crowded) || last) {
      const anchor = last && points.length > 1 ? "end" : index === 0 && points.length > 1 ? "start" : "middle";
      chart.append(svg("text", { x: x(index), y: height - 8, class: "axis", "text-anchor": anchor }, point.label));
    }
  });
  const step = points.length > 1 ? plotWidth / (points.length - 1) : plotWidth;
  points.forEach((point, index) => {
    if (!point.partial) return;
    const id = `hatch-${(patternCount += 1)}`;
    const pattern = svg("pattern", { id, width: 6, height: 6, patternUnits: "userSpaceOnUse", patternTransform: "rotate(45)" });
    pattern.append(svg("line", { x1: 0, y1: 0, x2: 0, y2: 6, class: "hatch" }));
    const defs = svg("defs");
    defs.append(pattern);
    chart.append(defs);
    const left = Math.max(pad.left, x(index) - step / 2);
    const right = Math.min(width - pad.right, x(index) + step / 2);
    chart.append(svg("rect", { x: left, y: pad.top, width: Math.max(2, right - left), height: plotHeight,
      fill: `url(#${id})`, class: "partial-band" }));
  });
  const coordinate = (index) => `${x(index).toFixed(1)},${y(points[index].value).toFixed(1)}`;
  const complete = points.findIndex((point) => point.partial); // -1: every day is complete
  const solidEnd = complete === -1 ? points.length : Math.max(1, complete);
  if (points.length) {
    const line = points.slice(0, solidEnd).map((point, index) => `${index ? "L" : "M"}${coordinate(index)}`).join(" ");
    const all = points.map((point, index) => `${index ? "L" : "M"}${coordinate(index)}`).join(" ");
    const area = `${all} L${x(points.length - 1).toFixed(1)},${y(0)} L${x(0).toFixed(1)},${y(0)} Z`;
    chart.append(svg("path", { d: area, class: "area" }));
    chart.append(svg("path", { d: line, class: "line" }));
    if (solidEnd < points.length) {
      const rest = points.slice(solidEnd - 1).map((point, offset) =>
        `${offset ? "L" : "M"}${coordinate(solidEnd - 1 + offset)}`).join(" ");
      chart.append(svg("path", { d: rest, class: "line-partial" }));
    }
  }
  points.forEach((point, index) => {
    const classes = ["dot", point.spike ? "spike" : "", point.partial ? "partial" : ""].filter(Boolean);
    const dot = svg("circle", {
      cx: x(index), cy: y(point.value), r: point.spike ? 6 : point.partial ? 4 : 3,
      class: classes.join(" "), tabindex: point.spike ? 0 : -1,
      "data-index": index,
    });
    dot.append(svg("title", {}, point.title || `${point.label}: ${point.value}${unit}`));
    if (options.onSelect) {
      dot.addEventListener("click", () => options.onSelect(index));
      dot.addEventListener("keydown", (event) => { if (event.key === "Enter") options.onSelect(index); });
    }
    chart.append(dot);
  });
  container.replaceChildren(chart);
  return chart;
}

/** A tiny inline series (no axes) for cluster rows. */
export function sparkline(values, options = {}) {
  const width = options.width || 120, height = options.height || 28;
  const chart = svg("svg", { viewBox: `0 0 ${width} ${height}`, class: "sparkline", role: "img",
    "aria-label": options.label || "daily occurrences" });
  const maxValue = Math.max(1, ...values);
  const step = values.length > 1 ? width / (values.length - 1) : 0;
  const coordinates = values.map((value, index) =>
    `${(index * step).toFixed(1)},${(height - 2 - ((height - 4) * value) / maxValue).toFixed(1)}`);
  if (coordinates.length === 1) coordinates.push(`${width},${coordinates[0].split(",")[1]}`);
  if (coordinates.length) chart.append(svg("polyline", { points: coordinates.join(" "), class: "spark" }));
  chart.append(svg("title", {}, `${values.reduce((a, b) => a + b, 0)} in ${values.length} days, peak ${Math.max(0, ...values)}`));
  return chart;
}

/**
 * Horizontal bars in HTML (labels wrap on a phone): items [{label, value, note, highlight}].
 */
export function bars(container, items, options = {}) {
  const maxValue = Math.max(1, ...items.map((item) => item.value));
  const rows = items.map((item) => {
    const row = document.createElement("div");
    row.className = item.highlight ? "bar-row highlight" : "bar-row";
    const label = document.createElement("span");
    label.className = "bar-label";
    label.textContent = item.label;
    const track = document.createElement("span");
    track.className = "bar-track";
    const fill = document.createElement("span");
    fill.className = "bar-fill";
    fill.style.width = `${((100 * item.value) / maxValue).toFixed(1)}%`;
    track.append(fill);
    const value = document.createElement("span");
    value.className = "bar-value";
    value.textContent = item.note ? `${item.value} · ${item.note}` : String(item.value);
    row.append(label, track, value);
    if (options.onSelect) {
      row.tabIndex = 0;
      row.classList.add("clickable");
      row.addEventListener("click", () => options.onSelect(item));
      row.addEventListener("keydown", (event) => { if (event.key === "Enter") options.onSelect(item); });
    }
    return row;
  });
  if (!rows.length) {
    const empty = document.createElement("p");
    empty.className = "muted";
    empty.textContent = options.empty || "Nothing in this period.";
    rows.push(empty);
  }
  container.replaceChildren(...rows);
}
