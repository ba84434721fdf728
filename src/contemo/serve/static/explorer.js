// contemo explorer: the valence-arousal pad, blend sliders, seed, path animation.
// One face request is in flight at a time; while dragging, newer points replace the
// pending one, so the latest point always wins and the server is never flooded.
"use strict";

const SVG_NS = "http://www.w3.org/2000/svg";
const COLORS = {
  neutral: "#6b7280", sad: "#2563eb", disgust: "#15803d", fear: "#7c3aed",
  angry: "#dc2626", happy: "#d97706",
};
const state = {
  info: null, seed: 7, va: [0, 0], label: null, source: "va", trained: [], padUsable: true,
  inflight: false, pending: null, objectUrl: null, waypoints: [], playing: false, lastPath: null,
};
const LABEL_PX = 13;  // on-screen size of the pad's emotion labels, whatever the pad's size
const AXIS_PX = 12;
const $ = (id) => document.getElementById(id);

async function errorText(response) {
  try { return (await response.json()).error || response.statusText; }
  catch (_) { return response.statusText; }
}

function svg(tag, attrs, parent) {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
  if (parent) parent.appendChild(el);
  return el;
}

function fmt(x) { return (x >= 0 ? "+" : "−") + Math.abs(x).toFixed(2); }

// ---- the pad -------------------------------------------------------------------------
function drawPad() {
  const pad = $("pad");
  const { anchors, sectors } = state.info;
  svg("circle", { cx: 0, cy: 0, r: 1, class: "ring" }, pad);
  for (const t of [-0.5, 0.5]) {
    svg("line", { x1: t, y1: -1.05, x2: t, y2: 1.05, class: "grid" }, pad);
    svg("line", { x1: -1.05, y1: t, x2: 1.05, y2: t, class: "grid" }, pad);
  }
  for (const [a, b] of sectors) {  // the reachable region: Neutral + two neighbours
    const [pa, pb, pn] = [anchors[a], anchors[b], anchors.neutral];
    svg("polygon", { points: `${pn[0]},${-pn[1]} ${pa[0]},${-pa[1]} ${pb[0]},${-pb[1]}`,
      class: "reach" }, pad);
  }
  svg("line", { x1: -1.1, y1: 0, x2: 1.1, y2: 0, class: "axis" }, pad);
  svg("line", { x1: 0, y1: -1.1, x2: 0, y2: 1.1, class: "axis" }, pad);
  const axisText = [["valence +", 1.08, 0.075, "end"], ["valence −", -1.08, 0.075, "start"],
    ["arousal +", 0.03, -1.1, "start"], ["arousal −", 0.03, 1.15, "start"]];
  for (const [text, x, y, anchor] of axisText) {
    svg("text", { x, y, class: "axis-label", "text-anchor": anchor }, pad).textContent = text;
  }
  for (const [name, [v, a]] of Object.entries(anchors)) {
    if (!state.trained.includes(name)) continue;  // the model cannot show it
    svg("circle", { cx: v, cy: -a, r: 0.028, fill: COLORS[name] || "#333" }, pad);
    const left = labelOnLeft(name, anchors);
    const label = svg("text", { x: v + (left ? -0.045 : 0.045), y: -a - 0.035,
      class: "anchor-label", fill: COLORS[name] || "#333", "text-anchor": left ? "end" : "start" },
    pad);
    label.textContent = name;
  }
  state.pathLine = svg("polyline", { points: "", class: "path" }, pad);
  state.waypointLayer = svg("g", {}, pad);
  state.achievedMark = svg("circle", { r: 0.05, class: "achieved", visibility: "hidden" }, pad);
  state.marker = svg("circle", { r: 0.04, class: "marker" }, pad);
  new ResizeObserver(scaleLabels).observe(pad);
  pad.addEventListener("pointerdown", onPointer);
  pad.addEventListener("pointermove", (e) => { if (e.buttons & 1) onPointer(e); });
  pad.addEventListener("keydown", onPadKey);
}

// SVG text scales with the pad; keep labels LABEL_PX tall on screen (phones included).
function scaleLabels() {
  const width = $("pad").getBoundingClientRect().width;
  if (!width) return;
  const unitsPerPx = 2.44 / width;
  for (const el of document.querySelectorAll("#pad .anchor-label")) {
    el.style.fontSize = `${LABEL_PX * unitsPerPx}px`;
    el.style.strokeWidth = `${3 * unitsPerPx}px`;
  }
  for (const el of document.querySelectorAll("#pad .axis-label")) {
    el.style.fontSize = `${AXIS_PX * unitsPerPx}px`;
  }
}

// Labels go outward (left of the dot on the negative-valence side) unless a close
// neighbour sits further out, in which case this one goes inward so they do not overlap.
function labelOnLeft(name, anchors) {
  const [v, a] = anchors[name];
  const outwardLeft = v < -0.05;
  const crowded = Object.entries(anchors).some(([other, [ov, oa]]) => other !== name
    && state.trained.includes(other)
    && Math.hypot(ov - v, oa - a) < 0.2 && (outwardLeft ? ov < v : ov > v));
  return crowded ? !outwardLeft : outwardLeft;
}

function padPoint(event) {
  const pad = $("pad");
  const pt = pad.createSVGPoint();
  pt.x = event.clientX; pt.y = event.clientY;
  const p = pt.matrixTransform(pad.getScreenCTM().inverse());
  return clampToPad(p.x, -p.y);
}

function clampToPad(v, a) {
  v = Math.max(-1, Math.min(1, v)); a = Math.max(-1, Math.min(1, a));
  return [Math.round(v * 1000) / 1000, Math.round(a * 1000) / 1000];
}

function onPointer(event) {
  if (state.playing) return;
  event.preventDefault();
  const [v, a] = padPoint(event);
  if (event.type === "pointerdown") {
    $("pad").setPointerCapture(event.pointerId);
    if (event.shiftKey) { addWaypoint([v, a]); }
  }
  setVA(v, a);
}

function onPadKey(event) {
  const step = event.shiftKey ? 0.1 : 0.02;
  const moves = { ArrowLeft: [-step, 0], ArrowRight: [step, 0], ArrowUp: [0, step],
    ArrowDown: [0, -step] };
  if (event.key in moves) {
    event.preventDefault();
    const [dv, da] = moves[event.key];
    setVA(...clampToPad(state.va[0] + dv, state.va[1] + da));
  } else if (event.key === "Enter" || event.key === " ") {
    event.preventDefault();
    addWaypoint(state.va.slice());
  }
}

// The marker and state.va move together, so arrow keys always start from what is shown.
function moveMarker(v, a) {
  state.va = [v, a];
  state.marker.setAttribute("cx", v);
  state.marker.setAttribute("cy", -a);
  $("ro-v").textContent = fmt(v);
  $("ro-a").textContent = fmt(a);
  $("pad").setAttribute("aria-valuetext", `valence ${v.toFixed(2)}, arousal ${a.toFixed(2)}`);
}

function setVA(v, a) {
  state.source = "va";
  moveMarker(v, a);
  requestFace({ valence: v, arousal: a });
}

// The VA point of a label: the blend of the anchors (what the server reports for it).
function labelVA(label) {
  const { emotions, anchors } = state.info;
  let v = 0; let a = 0;
  label.forEach((x, i) => { v += x * anchors[emotions[i]][0]; a += x * anchors[emotions[i]][1]; });
  return clampToPad(v, a);
}

// ---- face requests (coalesced) -------------------------------------------------------
function requestFace(params) {
  state.pending = params;
  if (!state.inflight) sendPending();
}

async function sendPending() {
  const params = state.pending;
  state.pending = null;
  if (!params) return;
  state.inflight = true;
  $("face-busy").hidden = false;
  const query = new URLSearchParams({ seed: state.seed, size: 256, ...params });
  shareState();
  const started = performance.now();
  try {
    const response = await fetch(`/api/face.png?${query}`);
    if (!response.ok) throw new Error(await errorText(response));
    const blob = await response.blob();
    const face = JSON.parse(response.headers.get("X-Contemo-Face"));
    showFace(blob, face, response.headers, performance.now() - started);
  } catch (err) {
    showError(`Could not render the face: ${err.message}`);
  } finally {
    state.inflight = false;
    $("face-busy").hidden = true;
    if (state.pending) sendPending();
  }
}

function showFace(blob, face, headers, roundTripMs) {
  if (state.objectUrl) URL.revokeObjectURL(state.objectUrl);
  state.objectUrl = URL.createObjectURL(blob);
  const img = $("face");
  img.src = state.objectUrl;
  $("pad-face").src = state.objectUrl;
  state.label = face.label;
  const name = headers.get("X-Contemo-Filename");
  img.alt = `generated face, seed ${face.seed}, ${labelText(face.label)}`;
  const link = $("download");
  link.href = state.objectUrl;
  link.download = name;
  $("face-label").textContent = labelText(face.label);
  const cached = headers.get("X-Contemo-Cached") === "1";
  const renderMs = parseFloat(headers.get("X-Contemo-Render-Ms"));
  $("face-timing").textContent = cached
    ? `seed ${face.seed} · from cache · ${roundTripMs.toFixed(0)} ms round trip`
    : `seed ${face.seed} · rendered in ${renderMs.toFixed(0)} ms on the server · `
      + `${roundTripMs.toFixed(0)} ms round trip`;
  const clipped = state.source === "va" && face.clipped && !state.playing;
  $("ro-clip").hidden = !clipped;
  const mark = state.achievedMark;
  mark.setAttribute("cx", face.valence);
  mark.setAttribute("cy", -face.arousal);
  mark.setAttribute("visibility",
    !state.playing && (clipped || state.source === "label") ? "visible" : "hidden");
  if (state.source === "label") moveMarker(face.valence, face.arousal);
  updateSliders(face.label);
}

function labelText(label) {
  const names = state.info.emotions;
  return label.map((x, i) => [names[i], x]).filter(([, x]) => x >= 0.005)
    .map(([n, x]) => `${n} ${x.toFixed(2)}`).join(" · ");
}

// ---- blend sliders ---------------------------------------------------------------------
function buildSliders() {
  const box = $("sliders");
  for (const [i, name] of state.info.emotions.entries()) {
    if (!state.trained.includes(name)) continue;
    const label = document.createElement("label");
    label.htmlFor = `s-${name}`;
    const swatch = document.createElement("span");
    swatch.className = "swatch";
    swatch.style.background = COLORS[name] || "#333";
    label.append(swatch, name);
    const input = document.createElement("input");
    Object.assign(input, { type: "range", min: 0, max: 1000, step: 1, value: 0, id: `s-${name}` });
    input.setAttribute("aria-label", `${name} weight`);
    const out = document.createElement("output");
    out.id = `o-${name}`;
    out.htmlFor = input.id;
    out.textContent = "0.00";
    input.addEventListener("input", () => onSlider(i, Number(input.value) / 1000));
    box.append(label, input, out);
  }
}

function updateSliders(label) {
  state.info.emotions.forEach((name, i) => {
    const input = $(`s-${name}`);
    if (!input) return;
    if (document.activeElement !== input) input.value = Math.round(label[i] * 1000);
    $(`o-${name}`).textContent = label[i].toFixed(2);
  });
}

// Set element i to x and scale the other trained ones so the vector still sums to 1.
function renormalised(label, i, x) {
  const open = state.info.emotions.map((name, j) => j !== i && state.trained.includes(name));
  const rest = label.reduce((s, y, j) => (open[j] ? s + y : s), 0);
  const others = open.filter(Boolean).length;
  if (!others) return label.map((_, j) => (j === i ? 1 : 0));
  return label.map((y, j) => {
    if (j === i) return x;
    if (!open[j]) return 0;
    if (rest <= 1e-9) return (1 - x) / others;
    return (y / rest) * (1 - x);
  });
}

function defaultLabel() {
  const first = state.trained.includes("neutral") ? "neutral" : state.trained[0];
  return state.info.emotions.map((name) => (name === first ? 1 : 0));
}

function onSlider(i, x) {
  if (state.playing) return;
  const base = state.label || defaultLabel();
  let next = renormalised(base, i, x).map((y) => Math.max(0, Math.round(y * 1e6) / 1e6));
  const total = next.reduce((s, y) => s + y, 0);
  next = next.map((y) => y / total);
  const fix = 1 - next.reduce((s, y) => s + y, 0);  // push the float rounding into element i
  next[i] = Math.max(0, next[i] + fix);
  state.label = next;
  state.source = "label";
  updateSliders(next);
  moveMarker(...labelVA(next));
  requestFace({ label: next.map((y) => y.toFixed(6)).join(",") });
}

// ---- seed ------------------------------------------------------------------------------
function setSeed(seed) {
  state.seed = seed;
  $("seed").value = seed;
  refresh();
}

function refresh() {
  if (state.source === "label" && state.label) {
    requestFace({ label: state.label.map((y) => y.toFixed(6)).join(",") });
  } else {
    requestFace({ valence: state.va[0], arousal: state.va[1] });
  }
}

// ---- path animation --------------------------------------------------------------------
function addWaypoint(point) {
  state.waypoints.push(point);
  const [v, a] = point;
  svg("circle", { cx: v, cy: -a, r: 0.022, class: "waypoint" }, state.waypointLayer);
  state.pathLine.setAttribute("points", state.waypoints.map(([x, y]) => `${x},${-y}`).join(" "));
  const n = state.waypoints.length;
  $("path-status").textContent = n < 2 ? "1 waypoint: add another to play."
    : `${n} waypoints.`;
}

function clearPath() {
  state.waypoints = [];
  state.waypointLayer.replaceChildren();
  state.pathLine.setAttribute("points", "");
  $("path-status").textContent = "No waypoints yet.";
}

// Points spaced evenly along the polyline through the waypoints.
function samplePath(points, frames) {
  const lengths = [0];
  for (let i = 1; i < points.length; i++) {
    const [v0, a0] = points[i - 1]; const [v1, a1] = points[i];
    lengths.push(lengths[i - 1] + Math.hypot(v1 - v0, a1 - a0));
  }
  const total = lengths[lengths.length - 1];
  const out = [];
  for (let f = 0; f < frames; f++) {
    const d = total * f / (frames - 1);
    let k = 1;
    while (k < points.length - 1 && lengths[k] < d) k++;
    const seg = lengths[k] - lengths[k - 1];
    const t = seg > 0 ? (d - lengths[k - 1]) / seg : 0;
    const [v0, a0] = points[k - 1]; const [v1, a1] = points[k];
    out.push(clampToPad(v0 + t * (v1 - v0), a0 + t * (a1 - a0)));
  }
  return out;
}

async function playPath() {
  if (state.waypoints.length < 2) { showError("Add at least two waypoints to play a path."); return; }
  if (state.playing) return;
  const frames = Math.min(Number($("path-frames").value), state.info.limits.max_batch_items);
  const points = samplePath(state.waypoints, frames);
  state.playing = true;
  $("path-play").disabled = true;
  $("path-gif").disabled = true;
  $("ro-clip").hidden = true;  // the note is about one point; a path passes many
  state.achievedMark.setAttribute("visibility", "hidden");
  $("path-status").textContent = `Rendering ${frames} frames…`;
  try {
    const response = await fetch("/api/batch", {
      method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ items: points.map(([valence, arousal]) => ({ va: { valence, arousal } })),
        seeds: [state.seed], size: 256 }),
    });
    if (!response.ok) throw new Error(await errorText(response));
    const batch = await response.json();
    const images = await Promise.all(batch.faces.map((f) => loadImage(f.image_base64)));
    $("path-status").textContent =
      `${frames} frames rendered in ${batch.render_ms.toFixed(0)} ms; playing…`;
    const img = $("face");
    for (let f = 0; f < frames; f++) {
      img.src = images[f].src;
      $("pad-face").src = images[f].src;
      moveMarker(...points[f]);
      $("face-label").textContent = labelText(batch.faces[f].label);
      updateSliders(batch.faces[f].label);
      await new Promise((r) => setTimeout(r, 1000 / 15));
    }
    $("path-status").textContent = `Played ${frames} frames (${batch.render_ms.toFixed(0)} ms to render).`;
    state.lastPath = { seed: state.seed, points };
    const last = points[frames - 1];
    state.playing = false;
    setVA(...last);
  } catch (err) {
    showError(`Could not play the path: ${err.message}`);
  } finally {
    state.playing = false;
    $("path-play").disabled = false;
    $("path-gif").disabled = !state.lastPath;
  }
}

function loadImage(b64) {
  return new Promise((resolve, reject) => {
    const im = new Image();
    im.onload = () => resolve(im);
    im.onerror = () => reject(new Error("bad frame"));
    im.src = `data:image/png;base64,${b64}`;
  });
}

// ---- start -----------------------------------------------------------------------------
async function start() {
  try {
    const response = await fetch("/api/info");
    if (!response.ok) throw new Error(await errorText(response));
    state.info = await response.json();
  } catch (err) {
    showError(`Could not reach the server: ${err.message}`);
    return;
  }
  const info = state.info;
  state.trained = info.trained_emotions || info.emotions;
  const name = info.checkpoint.split("/").filter(Boolean).pop();
  $("checkpoint-meta").textContent =
    `checkpoint ${name} · ${info.resolution}×${info.resolution} px · z ${info.model.z_dim}`;
  $("model-card").hidden = !info.model_card;
  // The pad blends neutral with two trained neighbours: without them it cannot work.
  state.padUsable = state.trained.includes("neutral") && info.sectors.length > 0;
  if (state.trained.length < info.emotions.length) {
    const missing = info.emotions.filter((e) => !state.trained.includes(e));
    $("trained-note").textContent = `This model was trained on ${state.trained.join(", ")} `
      + `only; ${missing.join(", ")} cannot be shown.`
      + (state.padUsable ? "" : " The valence–arousal pad needs neutral and two neighbouring "
        + "emotions, so it is hidden.");
    $("trained-note").hidden = false;
  }
  drawPad();
  buildSliders();
  if (!state.padUsable) {
    document.querySelector(".pad-card").hidden = true;
    document.querySelector(".path-card").hidden = true;
  }
  $("seed").addEventListener("change", () => {
    const text = $("seed").value.trim();
    const seed = Number(text);
    if (text !== "" && Number.isInteger(seed) && seed >= 0 && seed <= info.limits.max_seed) {
      setSeed(seed);
    } else {
      showError(`Seed must be a whole number from 0 to ${info.limits.max_seed}; `
        + `keeping seed ${state.seed}.`);
      $("seed").value = state.seed;  // the box always shows the face's seed
    }
  });
  $("new-face").addEventListener("click",
    () => setSeed(Math.floor(Math.random() * info.limits.max_seed)));
  $("path-add").addEventListener("click", () => addWaypoint(state.va.slice()));
  $("path-clear").addEventListener("click", clearPath);
  $("path-play").addEventListener("click", playPath);
  $("path-gif").addEventListener("click", saveGif);
  $("share-copy").addEventListener("click", copyShare);
  const shared = readShared(info.limits.max_seed, info.emotions.length);
  if (shared.seed !== null) { state.seed = shared.seed; $("seed").value = shared.seed; }
  const labelOk = shared.label && shared.label.every(
    (x, i) => x === 0 || state.trained.includes(info.emotions[i]));
  if (labelOk || !state.padUsable) {
    state.label = labelOk ? shared.label : defaultLabel();
    state.source = "label";
    updateSliders(state.label);
    moveMarker(...labelVA(state.label));
    refresh();
  } else {
    setVA(...(shared.va ? clampToPad(...shared.va) : [0, 0]));
  }
}

start();
