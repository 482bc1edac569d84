// The map of the field (/map): every paper on one canvas (no DOM node per paper, so
// 75k points stay smooth), cluster labels, hover for the title, click to open the paper,
// date and category filters, and the signed-in reader's papers highlighted.
(function () {
  "use strict";
  const canvas = document.getElementById("field-map");
  if (!canvas) return;
  const tip = document.getElementById("map-tip");
  const count = document.getElementById("map-count");
  const fromInput = document.getElementById("map-from");
  const toInput = document.getElementById("map-to");
  const catSelect = document.getElementById("map-category");
  const COLOURS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                   "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"];
  const PAD = 16, SCALE = 10000, GRID = 64;
  let data = null, mine = new Set(), visible = null, grid = null, size = 0;

  function ordinalOf(value) { // yyyy-mm-dd -> proleptic ordinal (as Python's toordinal)
    if (!value) return null;
    const ms = Date.UTC(+value.slice(0, 4), +value.slice(5, 7) - 1, +value.slice(8, 10));
    return Math.floor(ms / 86400000) + 719163;
  }
  function toScreen(i) {
    const span = size - 2 * PAD;
    return [PAD + data.x[i] / SCALE * span, PAD + (1 - data.y[i] / SCALE) * span];
  }
  function filter() {
    const from = ordinalOf(fromInput.value), to = ordinalOf(toInput.value);
    const cat = catSelect.value === "" ? -1 : +catSelect.value;
    visible = [];
    for (let i = 0; i < data.ids.length; i++) {
      const d = data.day[i];
      if (from !== null && (d === 0 || d < from)) continue;
      if (to !== null && (d === 0 || d > to)) continue;
      if (cat >= 0 && data.category[i] !== cat) continue;
      visible.push(i);
    }
    count.textContent = visible.length.toLocaleString() + " of " + data.ids.length.toLocaleString() + " papers shown";
    draw();
  }
  function draw() {
    const ratio = window.devicePixelRatio || 1;
    size = Math.min(canvas.parentElement.clientWidth, 900);
    canvas.style.width = size + "px";
    canvas.style.height = size + "px";
    canvas.width = size * ratio;
    canvas.height = size * ratio;
    const ctx = canvas.getContext("2d");
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    ctx.fillStyle = "#fff";
    ctx.fillRect(0, 0, size, size);
    const dot = visible.length > 20000 ? 1.6 : visible.length > 2000 ? 2.4 : 4;
    ctx.globalAlpha = visible.length > 20000 ? 0.45 : 0.8;
    grid = new Map();
    for (const i of visible) {
      const [x, y] = toScreen(i);
      ctx.fillStyle = COLOURS[data.cluster[i] % COLOURS.length];
      ctx.fillRect(x - dot / 2, y - dot / 2, dot, dot);
      const key = Math.floor(x / size * GRID) * GRID + Math.floor(y / size * GRID);
      if (!grid.has(key)) grid.set(key, []);
      grid.get(key).push(i);
    }
    ctx.globalAlpha = 1;
    for (const i of visible) {
      if (!mine.has(data.ids[i])) continue;
      const [x, y] = toScreen(i);
      ctx.beginPath();
      ctx.arc(x, y, 5, 0, 2 * Math.PI);
      ctx.fillStyle = "#111";
      ctx.fill();
      ctx.strokeStyle = "#fff";
      ctx.lineWidth = 1.5;
      ctx.stroke();
    }
    ctx.font = "600 12px system-ui, sans-serif";
    ctx.textAlign = "center";
    const total = data.ids.length;
    for (const c of data.clusters) {
      if (c.size < total / 200) continue;
      const x = PAD + c.x / SCALE * (size - 2 * PAD), y = PAD + (1 - c.y / SCALE) * (size - 2 * PAD);
      ctx.lineWidth = 3;
      ctx.strokeStyle = "rgba(255,255,255,.9)";
      ctx.strokeText(c.label, x, y);
      ctx.fillStyle = "#222";
      ctx.fillText(c.label, x, y);
    }
    canvas.dataset.ready = "true";
  }
  function nearest(event) {
    const rect = canvas.getBoundingClientRect();
    const x = event.clientX - rect.left, y = event.clientY - rect.top;
    const gx = Math.floor(x / size * GRID), gy = Math.floor(y / size * GRID);
    let best = -1, bestDist = 64; // within 8 px
    for (let dx = -1; dx <= 1; dx++) {
      for (let dy = -1; dy <= 1; dy++) {
        for (const i of grid.get((gx + dx) * GRID + gy + dy) || []) {
          const [px, py] = toScreen(i);
          const dist = (px - x) ** 2 + (py - y) ** 2;
          if (dist < bestDist) { best = i; bestDist = dist; }
        }
      }
    }
    return best;
  }
  canvas.addEventListener("mousemove", function (event) {
    if (!data) return;
    const i = nearest(event);
    if (i < 0) { tip.hidden = true; canvas.style.cursor = "default"; return; }
    const [x, y] = toScreen(i);
    tip.textContent = data.titles[i];
    tip.style.left = Math.min(x + 12, size - 260) + "px";
    tip.style.top = y + 12 + "px";
    tip.hidden = false;
    canvas.style.cursor = "pointer";
  });
  canvas.addEventListener("mouseleave", function () { tip.hidden = true; });
  canvas.addEventListener("click", function (event) {
    if (!data) return;
    const i = nearest(event);
    if (i >= 0) window.location.href = "/papers/" + data.ids[i];
  });
  for (const input of [fromInput, toInput, catSelect]) input.addEventListener("change", filter);
  window.addEventListener("resize", function () { if (data) draw(); });
  // For tests and tools: where a paper is drawn, in page coordinates.
  window.paperwireMap = {
    pointOf: function (id) {
      const i = data ? data.ids.indexOf(id) : -1;
      if (i < 0) return null;
      const rect = canvas.getBoundingClientRect();
      const [x, y] = toScreen(i);
      return { x: rect.left + window.scrollX + x, y: rect.top + window.scrollY + y };
    },
  };

  const loads = [fetch(canvas.dataset.points).then(function (r) { return r.json(); })];
  if (canvas.dataset.mine) {
    loads.push(fetch(canvas.dataset.mine).then(function (r) { return r.ok ? r.json() : []; }));
  }
  Promise.all(loads).then(function (results) {
    data = results[0];
    mine = new Set(results[1] || []);
    data.categories.forEach(function (name, i) {
      const option = document.createElement("option");
      option.value = String(i);
      option.textContent = name || "(none)";
      catSelect.appendChild(option);
    });
    const regions = document.getElementById("map-regions");
    data.clusters.slice().sort(function (a, b) { return b.size - a.size; }).forEach(function (c) {
      const li = document.createElement("li");
      li.textContent = c.label + " (" + c.size.toLocaleString() + ")";
      regions.appendChild(li);
    });
    filter();
  });
})();
