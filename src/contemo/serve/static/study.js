// contemo study: consent -> one page per image (six Likert questions) -> completion code.
// Every click is saved at once (PUT /api/answers); the token lives in localStorage, so a
// reload or a server restart resumes at the first image not fully rated.
"use strict";

const TOKEN_KEY = `contemo-study-token:${location.host}`;
const $ = (id) => document.getElementById(id);
const S = { about: null, token: null, order: [], answers: {}, index: 0, focusRow: 0 };

function showError(message) {
  const box = $("error");
  box.textContent = message;
  box.hidden = false;
  clearTimeout(showError.timer);
  showError.timer = setTimeout(() => { box.hidden = true; }, 6000);
}

async function api(method, path, body) {
  const headers = { "Content-Type": "application/json" };
  if (S.token) headers["X-Participant-Token"] = S.token;
  const response = await fetch(path, { method, headers,
    body: body === undefined ? undefined : JSON.stringify(body) });
  let data = null;
  try { data = await response.json(); } catch (_) { /* empty body */ }
  if (!response.ok) {
    const err = new Error((data && data.error) || response.statusText);
    err.status = response.status;
    throw err;
  }
  return data;
}

function show(section) {
  for (const id of ["consent", "rate", "done"]) $(id).hidden = id !== section;
}

function capital(word) { return word.charAt(0).toUpperCase() + word.slice(1); }

// ---- consent ---------------------------------------------------------------------------
function showConsent() {
  show("consent");
  $("consent-text").textContent = S.about.consent;
  $("consent-count").textContent = S.about.images;
  const box = $("consent-box");
  box.addEventListener("change", () => { $("start").disabled = !box.checked; });
  $("start").addEventListener("click", async () => {
    $("start").disabled = true;
    try {
      const joined = await api("POST", "/api/participants", { consent: true });
      S.token = joined.token;
      localStorage.setItem(TOKEN_KEY, S.token);
      await resume();
    } catch (err) {
      showError(`Could not start: ${err.message}`);
      $("start").disabled = false;
    }
  });
}

// ---- rating pages ----------------------------------------------------------------------
function buildQuestions() {
  const box = $("questions");
  for (const [row, emotion] of S.about.emotions.entries()) {
    const set = document.createElement("fieldset");
    set.className = "question";
    set.dataset.row = row;
    const legend = document.createElement("legend");
    legend.textContent = capital(emotion);
    set.appendChild(legend);
    for (let value = 1; value <= 5; value++) {
      const label = document.createElement("label");
      label.className = "choice";
      const input = document.createElement("input");
      Object.assign(input, { type: "radio", name: emotion, value: String(value) });
      input.id = `q-${emotion}-${value}`;
      const text = document.createElement("span");
      text.className = "sr-only";
      text.textContent = `${capital(emotion)}: ${value}, ${S.about.likert[value]}`;
      const dot = document.createElement("span");
      dot.className = "dot";
      dot.setAttribute("aria-hidden", "true");
      dot.textContent = value;
      label.append(input, dot, text);
      input.addEventListener("change", () => rate(emotion, value));
      input.addEventListener("focus", () => setFocusRow(row));
      set.appendChild(label);
    }
    box.appendChild(set);
  }
}

function setFocusRow(row) {
  S.focusRow = Math.max(0, Math.min(S.about.emotions.length - 1, row));
  document.querySelectorAll(".question").forEach((q, i) => {
    q.classList.toggle("active", i === S.focusRow);
  });
}

function current() { return S.order[S.index]; }

function showImage() {
  const id = current();
  const done = S.order.filter((i) => rated(i) === S.about.emotions.length).length;
  $("progress-text").textContent = `Image ${S.index + 1} of ${S.order.length} · ${done} done`;
  $("progress-bar").style.width = `${(100 * done) / S.order.length}%`;
  const img = $("stimulus");
  img.src = `/api/images/${id}.png`;
  img.alt = `Face ${S.index + 1} of ${S.order.length}`;
  const given = S.answers[id] || {};
  for (const emotion of S.about.emotions) {
    for (const input of document.getElementsByName(emotion)) {
      input.checked = Number(input.value) === given[emotion];
    }
  }
  $("back").disabled = S.index === 0;
  $("save-state").textContent = "";
  updateNext();
  const firstOpen = S.about.emotions.findIndex((e) => !(e in given));
  setFocusRow(firstOpen === -1 ? 0 : firstOpen);
}

function rated(id) { return Object.keys(S.answers[id] || {}).length; }

function updateNext() {
  const complete = rated(current()) === S.about.emotions.length;
  $("next").disabled = !complete;
  $("next").textContent = S.index === S.order.length - 1 ? "Finish" : "Next image";
}

async function rate(emotion, value) {
  const id = current();
  S.answers[id] = { ...(S.answers[id] || {}), [emotion]: value };
  updateNext();
  $("save-state").textContent = "saving…";
  try {
    await api("PUT", "/api/answers", { image_id: id, ratings: { [emotion]: value } });
    if (current() === id) $("save-state").textContent = "saved ✓";
  } catch (err) {
    $("save-state").textContent = "not saved";
    showError(`Your answer was not saved (${err.message}). Please try again.`);
  }
}

async function next(event) {
  if (event) event.preventDefault();
  if (rated(current()) < S.about.emotions.length) return;
  if (S.index < S.order.length - 1) {
    S.index += 1;
    showImage();
    $("stimulus").scrollIntoView({ block: "nearest" });
    return;
  }
  try {
    const result = await api("POST", "/api/complete");
    finish(result.completion_code);
  } catch (err) {
    showError(`Could not finish: ${err.message}`);
    await resume();
  }
}

function finish(code) {
  show("done");
  $("progress-text").textContent = `All ${S.order.length} images done`;
  $("progress-bar").style.width = "100%";
  $("code").textContent = code;
}

function onKey(event) {
  if ($("rate").hidden || event.altKey || event.ctrlKey || event.metaKey) return;
  if (/^[1-5]$/.test(event.key)) {
    event.preventDefault();
    const emotion = S.about.emotions[S.focusRow];
    const input = $(`q-${emotion}-${event.key}`);
    input.checked = true;
    rate(emotion, Number(event.key));
    const nextRow = Math.min(S.focusRow + 1, S.about.emotions.length - 1);
    setFocusRow(nextRow);
    const target = document.querySelector(
      `input[name="${S.about.emotions[nextRow]}"]:checked`)
      || $(`q-${S.about.emotions[nextRow]}-1`);
    target.focus({ preventScroll: true });
  } else if (event.key === "Enter" && event.target.tagName !== "BUTTON") {
    event.preventDefault();
    next();
  }
}

// ---- start / resume --------------------------------------------------------------------
async function resume() {
  const session = await api("GET", "/api/session");
  S.order = session.order;
  S.answers = session.answers;
  if (session.completed) { finish(session.completion_code); return; }
  S.index = Math.min(session.position, S.order.length - 1);
  show("rate");
  showImage();
}

async function start() {
  try {
    S.about = await api("GET", "/api/study");
  } catch (err) {
    showError(`Could not reach the study server: ${err.message}`);
    return;
  }
  document.title = S.about.title;
  $("study-title").textContent = S.about.title;
  buildQuestions();
  $("ratings").addEventListener("submit", next);
  $("back").addEventListener("click", () => { if (S.index > 0) { S.index -= 1; showImage(); } });
  $("new-participant").addEventListener("click", () => {
    localStorage.removeItem(TOKEN_KEY);
    location.reload();
  });
  document.addEventListener("keydown", onKey);
  S.token = localStorage.getItem(TOKEN_KEY);
  if (S.token) {
    try { await resume(); return; } catch (err) {
      if (err.status !== 401) { showError(`Could not resume: ${err.message}`); return; }
      localStorage.removeItem(TOKEN_KEY);  // a token from another study on this address
      S.token = null;
    }
  }
  showConsent();
}

start();
