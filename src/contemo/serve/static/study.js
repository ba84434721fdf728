// contemo study: consent -> (about you) -> (practice) -> one page per image (six Likert
// questions, rows in this participant's order) -> completion code (and the platform redirect).
// Every click is saved at once (PUT /api/answers) with the ms since the face appeared; the
// token lives in localStorage, so a reload or a server restart resumes at the first image
// not fully rated.
"use strict";

const TOKEN_KEY = `contemo-study-token:${location.host}`;
const PRACTICE_KEY = `contemo-study-practised:${location.host}`;
const $ = (id) => document.getElementById(id);
const S = {
  about: null, token: null, order: [], rows: {}, instructions: {}, answers: {}, index: 0,
  focusRow: 0, practice: [], practising: false, shownAt: 0, redirect: null,
  saving: new Set(),  // answers sent and not yet confirmed: Finish waits for them
};

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
  for (const id of ["consent", "about-you", "rate", "done"]) $(id).hidden = id !== section;
}

function capital(word) { return word.charAt(0).toUpperCase() + word.slice(1); }

// The recruitment platform's ids (PROLIFIC_PID, workerId, ...) and the entry key, from the link.
function linkParams() {
  const query = new URLSearchParams(location.search);
  const params = {};
  for (const name of S.about.url_params) {
    const value = query.get(name);
    if (value) params[name] = value.slice(0, 128);
  }
  return { key: query.get("key"), params };
}

// ---- consent ---------------------------------------------------------------------------
function showConsent() {
  show("consent");
  $("consent-text").textContent = S.about.consent;
  $("consent-count").textContent = S.about.images;
  const box = $("consent-box");
  const { key, params } = linkParams();
  let blocked = "";
  if (S.about.entry_key_required && !key) {
    blocked = "This study can only be started from the link the researchers gave you.";
  } else if (!S.about.enrolment_open) {
    blocked = "The study is not taking new participants at the moment. Please try again later.";
  }
  $("consent-blocked").textContent = blocked;
  $("consent-blocked").hidden = !blocked;
  box.disabled = Boolean(blocked);
  box.addEventListener("change", () => { $("start").disabled = !box.checked; });
  $("start").addEventListener("click", async () => {
    $("start").disabled = true;
    try {
      const joined = await api("POST", "/api/participants",
        { consent: true, entry_key: key, params });
      S.token = joined.token;
      localStorage.setItem(TOKEN_KEY, S.token);
      localStorage.removeItem(PRACTICE_KEY);
      await resume();
    } catch (err) {
      showError(`Could not start: ${err.message}`);
      $("start").disabled = false;
    }
  });
}

function askAboutYou() {
  show("about-you");
  $("age").focus();
  return new Promise((resolve) => {
    $("about-form").addEventListener("submit", async (event) => {
      event.preventDefault();
      const age = $("age").value.trim();
      const body = { age: age === "" ? null : Number(age), gender: $("gender").value || null };
      if (body.age !== null && !(Number.isInteger(body.age) && body.age >= 18
                                 && body.age <= 120)) {
        showError("Age must be a whole number from 18 to 120, or left blank.");
        return;
      }
      try {
        await api("POST", "/api/demographics", body);
        resolve();
      } catch (err) { showError(`Could not save: ${err.message}`); }
    });
  });
}

// ---- rating pages ----------------------------------------------------------------------
function buildQuestions() {
  const box = $("questions");
  for (const emotion of S.about.emotions) {
    const set = document.createElement("fieldset");
    set.className = "question";
    set.dataset.emotion = emotion;
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
      input.addEventListener("focus", () => setFocusRow(rowsNow().indexOf(emotion)));
      set.appendChild(label);
    }
    box.appendChild(set);
  }
}

function current() { return S.practising ? S.practice[S.index] : S.order[S.index]; }
function rowsNow() { return S.rows[current()] || S.about.emotions; }
function pages() { return S.practising ? S.practice : S.order; }

function setFocusRow(row) {
  const rows = rowsNow();
  S.focusRow = Math.max(0, Math.min(rows.length - 1, row));
  document.querySelectorAll(".question").forEach((q) => {
    q.classList.toggle("active", q.dataset.emotion === rows[S.focusRow]);
  });
}

function showImage() {
  const id = current();
  const list = pages();
  if (S.practising) {
    $("progress-text").textContent = `Practice ${S.index + 1} of ${list.length}`;
    $("progress-bar").style.width = "0%";
  } else {
    const done = list.filter((i) => rated(i) === S.about.emotions.length).length;
    $("progress-text").textContent = `Image ${S.index + 1} of ${list.length} · ${done} done`;
    $("progress-bar").style.width = `${(100 * done) / list.length}%`;
  }
  $("practice-note").hidden = !S.practising;
  const instruction = S.practising ? "" : (S.instructions[id] || "");
  $("instruction").textContent = instruction;
  $("instruction").hidden = !instruction;
  const box = $("questions");
  for (const emotion of rowsNow()) box.appendChild(box.querySelector(`[data-emotion="${emotion}"]`));
  const img = $("stimulus");
  S.shownAt = performance.now();
  img.onload = () => { if (current() === id) S.shownAt = performance.now(); };
  img.src = `/api/images/${id}.png`;
  img.alt = `Face ${S.index + 1} of ${list.length}`;
  const given = S.answers[id] || {};
  for (const emotion of S.about.emotions) {
    for (const input of document.getElementsByName(emotion)) {
      input.checked = Number(input.value) === given[emotion];
    }
  }
  $("back").disabled = S.index === 0;
  $("save-state").textContent = "";
  updateNext();
  const firstOpen = rowsNow().findIndex((e) => !(e in given));
  setFocusRow(firstOpen === -1 ? 0 : firstOpen);
}

function focusFirstAnswer() {
  const emotion = rowsNow()[0];
  const target = document.querySelector(`input[name="${emotion}"]:checked`)
    || $(`q-${emotion}-1`);
  target.focus({ preventScroll: true });
  setFocusRow(0);
}

function rated(id) { return Object.keys(S.answers[id] || {}).length; }

function updateNext() {
  const complete = rated(current()) === S.about.emotions.length;
  $("next").disabled = !complete;
  const last = S.index === pages().length - 1;
  $("next").textContent = S.practising ? (last ? "Start the study" : "Next practice image")
    : (last ? "Finish" : "Next image");
}

async function rate(emotion, value) {
  const id = current();
  S.answers[id] = { ...(S.answers[id] || {}), [emotion]: value };
  updateNext();
  if (S.practising) { $("save-state").textContent = "practice: not recorded"; return; }
  $("save-state").textContent = "saving…";
  const rtMs = Math.max(0, Math.round(performance.now() - S.shownAt));
  const request = api("PUT", "/api/answers",
    { image_id: id, ratings: { [emotion]: value }, rt_ms: rtMs });
  S.saving.add(request);
  try {
    await request;
    if (current() === id && S.saving.size === 1) $("save-state").textContent = "saved ✓";
  } catch (err) {
    $("save-state").textContent = "not saved";
    showError(`Your answer was not saved (${err.message}). Please try again.`);
  } finally {
    S.saving.delete(request);
  }
}

async function next(event) {
  if (event) event.preventDefault();
  if (rated(current()) < S.about.emotions.length) return;
  if (S.index < pages().length - 1) {
    S.index += 1;
    showImage();
    $("stimulus").scrollIntoView({ block: "nearest" });
    focusFirstAnswer();
    return;
  }
  if (S.practising) {
    S.practising = false;
    localStorage.setItem(PRACTICE_KEY, "1");
    S.index = 0;
    showImage();
    focusFirstAnswer();
    return;
  }
  try {
    await Promise.allSettled([...S.saving]);  // the last clicks reach the server first
    const result = await api("POST", "/api/complete");
    finish(result.completion_code, result.redirect, true);
  } catch (err) {
    showError(`Could not finish: ${err.message}`);
    await resume();
  }
}

function finish(code, redirect, justFinished) {
  show("done");
  $("progress-text").textContent = `All ${S.order.length} images done`;
  $("progress-bar").style.width = "100%";
  $("code").textContent = code;
  if (redirect) {
    $("redirect-link").href = redirect;
    $("redirect-note").hidden = false;
    $("code-hint").textContent = "Your completion code is sent to the study platform for you.";
    if (justFinished) setTimeout(() => location.assign(redirect), 1500);
  }
}

function onKey(event) {
  if ($("rate").hidden || event.altKey || event.ctrlKey || event.metaKey) return;
  if (/^[1-5]$/.test(event.key)) {
    event.preventDefault();
    const rows = rowsNow();
    const emotion = rows[S.focusRow];
    const input = $(`q-${emotion}-${event.key}`);
    input.checked = true;
    rate(emotion, Number(event.key));
    const nextRow = Math.min(S.focusRow + 1, rows.length - 1);
    setFocusRow(nextRow);
    const target = document.querySelector(`input[name="${rows[nextRow]}"]:checked`)
      || $(`q-${rows[nextRow]}-1`);
    target.focus({ preventScroll: true });
  } else if (event.key === "Enter" && event.target.tagName !== "BUTTON") {
    event.preventDefault();
    next();
  }
}

// ---- start / resume --------------------------------------------------------------------
async function resume() {
  let session = await api("GET", "/api/session");
  if (session.ask_demographics) {
    await askAboutYou();
    session = await api("GET", "/api/session");
  }
  S.order = session.order;
  S.rows = session.rows;
  S.instructions = session.instructions;
  S.answers = session.answers;
  S.practice = session.practice;
  if (session.completed) { finish(session.completion_code, session.redirect, false); return; }
  const fresh = Object.keys(S.answers).length === 0;
  S.practising = fresh && S.practice.length > 0 && !localStorage.getItem(PRACTICE_KEY);
  S.index = S.practising ? 0 : Math.min(session.position, S.order.length - 1);
  show("rate");
  showImage();
  focusFirstAnswer();
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
  $("back").addEventListener("click", () => {
    if (S.index > 0) { S.index -= 1; showImage(); focusFirstAnswer(); }
  });
  $("new-participant").addEventListener("click", () => {
    localStorage.removeItem(TOKEN_KEY);
    localStorage.removeItem(PRACTICE_KEY);
    location.reload();
  });
  document.addEventListener("keydown", onKey);
  S.token = localStorage.getItem(TOKEN_KEY);
  if (S.token) {
    try { await resume(); return; } catch (err) {
      if (err.status !== 401) {
        showError(err.status === 403 ? err.message : `Could not resume: ${err.message}`);
        return;
      }
      localStorage.removeItem(TOKEN_KEY);  // a token from another study on this address
      S.token = null;
    }
  }
  showConsent();
}

start();
