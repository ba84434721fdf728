// contemo explorer: what leaves the page. The face's state lives in the URL's hash
// (#seed=7&v=0.2&a=0.4, or #seed=7&label=...), so a link or a reload shows the same face;
// the "use via API" snippets say how to get it from a script; a played path becomes a GIF
// (rendered on the server with Pillow). Loaded before explorer.js, which calls these.
"use strict";

// The state in the link: {seed, va: [v, a]} or {seed, label: [...]} (null parts when absent).
function readShared(maxSeed, size) {
  const hash = new URLSearchParams(location.hash.slice(1));
  const out = { seed: null, va: null, label: null };
  const seed = hash.get("seed");
  if (seed !== null && /^\d+$/.test(seed) && Number(seed) <= maxSeed) out.seed = Number(seed);
  const v = parseFloat(hash.get("v"));
  const a = parseFloat(hash.get("a"));
  if (Number.isFinite(v) && Number.isFinite(a) && Math.abs(v) <= 1 && Math.abs(a) <= 1) {
    out.va = [v, a];
  }
  const label = (hash.get("label") || "").split(",").map(Number);
  const total = label.reduce((s, x) => s + x, 0);
  if (label.length === size && label.every((x) => Number.isFinite(x) && x >= 0)
      && Math.abs(total - 1) < 0.01) {
    out.label = label.map((x) => x / total);
  }
  return out;
}

// The query of the current face, as the API takes it.
function faceQuery() {
  const q = { seed: String(state.seed) };
  if (state.source === "label" && state.label) {
    q.label = state.label.map((y) => Number(y.toFixed(4))).join(",");
  } else {
    q.valence = state.va[0].toFixed(3);
    q.arousal = state.va[1].toFixed(3);
  }
  return q;
}

function shareState() {
  const q = faceQuery();
  const hash = new URLSearchParams({ seed: q.seed });
  if (q.label) hash.set("label", q.label);
  else { hash.set("v", q.valence); hash.set("a", q.arousal); }
  history.replaceState(null, "", `#${hash}`);
  $("share-url").value = location.href;
  const origin = location.origin;
  const query = new URLSearchParams({ ...q, size: 256 });
  $("api-curl").textContent = `curl -o face.png '${origin}/api/face.png?${query}'`;
  const spec = q.label ? `"label": [${q.label.split(",").join(", ")}]`
    : `"va": {"valence": ${q.valence}, "arousal": ${q.arousal}}`;
  $("api-python").textContent = [
    "import base64, httpx",
    `r = httpx.post("${origin}/api/generate",`,
    `               json={"seed": ${q.seed}, ${spec}, "format": "json"})`,
    "face = r.json()",
    'open("face.png", "wb").write(base64.b64decode(face["image_base64"]))',
    'print(face["label_named"], face["valence"], face["arousal"])',
  ].join("\n");
}

async function copyShare() {
  const box = $("share-url");
  try {
    await navigator.clipboard.writeText(box.value);
    $("share-copy").textContent = "Copied ✓";
  } catch (_) {  // no clipboard on plain http: leave the link selected to copy by hand
    box.focus();
    box.select();
    $("share-copy").textContent = "Press Ctrl+C";
  }
  setTimeout(() => { $("share-copy").textContent = "Copy link"; }, 2000);
}

async function saveGif() {
  if (!state.lastPath) return;
  $("path-gif").disabled = true;
  const status = $("path-status").textContent;
  $("path-status").textContent = "Making the GIF…";
  try {
    const response = await fetch("/api/path.gif", {
      method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ seed: state.lastPath.seed, fps: 15, size: 256,
        points: state.lastPath.points.map(([valence, arousal]) => ({ valence, arousal })) }),
    });
    if (!response.ok) throw new Error(await errorText(response));
    const blob = await response.blob();
    const a = document.createElement("a");
    a.href = URL.createObjectURL(blob);
    a.download = `contemo_seed${state.lastPath.seed}_path.gif`;
    document.body.appendChild(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(a.href), 10000);
    $("path-status").textContent = `${status} GIF saved (${(blob.size / 1024).toFixed(0)} KB).`;
  } catch (err) {
    showError(`Could not make the GIF: ${err.message}`);
    $("path-status").textContent = status;
  } finally {
    $("path-gif").disabled = false;
  }
}
