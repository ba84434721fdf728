// contemo study admin: a login form, then progress, enrolment switch, exclusions, downloads and
// a live Fig. 4. The token stays in this tab's sessionStorage and goes out as a Bearer header
// (never a cookie, so another site cannot make the browser act with it).
"use strict";

const KEY = `contemo-admin:${location.host}`;
const $ = (id) => document.getElementById(id);
const A = { token: sessionStorage.getItem(KEY), figUrl: null, timer: null, open: true };

async function call(method, path, body) {
  const headers = { Authorization: `Bearer ${A.token}` };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(path, { method, headers,
    body: body === undefined ? undefined : JSON.stringify(body) });
  if (response.status === 401) { logout("The admin token was not accepted."); throw new Error("401"); }
  if (!response.ok) {
    let text = response.statusText;
    try { text = (await response.json()).error || text; } catch (_) { /* not JSON */ }
    const err = new Error(text);
    err.status = response.status;
    throw err;
  }
  return response;
}

function logout(message) {
  sessionStorage.removeItem(KEY);
  A.token = null;
  clearInterval(A.timer);
  $("dashboard").hidden = true;
  $("logout").hidden = true;
  $("login").hidden = false;
  if (message) showError(message);
}

async function login(event) {
  event.preventDefault();
  A.token = $("token").value.trim();
  try {
    await call("GET", "/api/admin/summary");
  } catch (_) { return; }
  sessionStorage.setItem(KEY, A.token);
  $("token").value = "";
  enter();
}

function enter() {
  $("error").hidden = true;  // a failed try before this one is history
  $("login").hidden = true;
  $("dashboard").hidden = false;
  $("logout").hidden = false;
  refresh();
  A.timer = setInterval(refresh, 30000);
}

function cell(row, text, className) {
  const td = document.createElement("td");
  td.textContent = text;
  if (className) td.className = className;
  row.appendChild(td);
  return td;
}

async function refresh() {
  try {
    const summary = await (await call("GET", "/api/admin/summary")).json();
    $("study-name").textContent = summary.title;
    const stats = [["participants", summary.participants], ["completed", summary.completed],
      ["excluded", summary.excluded], ["answers", summary.answers],
      ["pages each", summary.images + summary.catch_items]];
    $("stats").replaceChildren(...stats.map(([name, n]) => {
      const span = document.createElement("span");
      span.innerHTML = `<b></b> ${name}`;
      span.querySelector("b").textContent = n;
      return span;
    }));
    A.open = summary.enrolment === "open";
    $("enrolment-state").textContent = summary.enrolment;
    $("enrolment-state").className = A.open ? "state-open" : "state-paused";
    $("enrolment").textContent = A.open ? "Pause enrolment" : "Resume enrolment";
    $("notes").textContent = (summary.entry_key ? "" : "Warning: no entry key: anyone with the "
      + "address can join. ") + (summary.notes || []).join(" ");
    await people();
    await figure();
  } catch (err) {
    if (err.message !== "401") showError(`Could not refresh: ${err.message}`);
  }
}

async function people() {
  const data = await (await call("GET", "/api/admin/participants")).json();
  const table = $("people");
  const head = ["#", ...data.url_params.filter((p) => data.participants.some((x) => x[p])),
    "started", "progress", "completed", "code", "attention", "s / image", "speeder", ""];
  const ids = head.slice(1, head.length - 8);
  const thead = document.createElement("tr");
  for (const h of head) { const th = document.createElement("th"); th.textContent = h; thead.appendChild(th); }
  const rows = [thead];
  for (const p of data.participants) {
    const tr = document.createElement("tr");
    tr.dataset.participant = p.participant;
    if (p.excluded) tr.className = "excluded";
    cell(tr, p.participant);
    for (const name of ids) cell(tr, p[name] || "");
    cell(tr, p.created.replace("T", " ").slice(0, 19));
    const progress = cell(tr, "");
    const bar = document.createElement("span");
    bar.className = "bar";
    const fill = document.createElement("span");
    fill.style.width = `${Math.round((100 * p.images_done) / data.pages)}%`;
    bar.appendChild(fill);
    progress.append(bar, `${p.images_done}/${data.pages}`);
    cell(tr, p.participant_completed ? "yes" : "no");
    cell(tr, p.completion_code);
    const attention = p.catch_total === 0 ? "–" : `${p.catch_passed}/${p.catch_total}`;
    cell(tr, attention, p.catch_ok === 0 ? "flag-bad" : (p.catch_ok === 1 ? "flag-ok" : ""));
    cell(tr, p.median_image_ms === "" ? "–" : (p.median_image_ms / 1000).toFixed(1));
    cell(tr, p.speeder === 1 ? "speeder" : "", p.speeder === 1 ? "flag-bad" : "");
    const action = cell(tr, "");
    const button = document.createElement("button");
    button.type = "button";
    button.textContent = p.excluded ? "Include again" : "Exclude";
    button.setAttribute("aria-label", `${button.textContent} participant ${p.participant}`);
    button.addEventListener("click", () => exclude(p.participant, !p.excluded, p));
    action.appendChild(button);
    if (p.excluded && p.exclusion_reason) {
      const why = document.createElement("span");
      why.className = "hint reason";
      why.textContent = ` ${p.exclusion_reason}`;
      action.appendChild(why);
    }
    rows.push(tr);
  }
  table.replaceChildren(...rows);
}

async function exclude(number, excluded, p) {
  let reason = "";
  if (excluded) {
    const auto = [p.catch_ok === 0 ? "failed attention check" : "",
      p.speeder === 1 ? "speeder" : ""].filter(Boolean).join(", ");
    reason = window.prompt(`Reason for excluding participant ${number}:`, auto || "junk");
    if (reason === null) return;
  }
  try {
    await call("POST", `/api/admin/participants/${number}/exclusion`,
      { excluded, reason: reason.slice(0, 200) });
    await refresh();
  } catch (err) {
    if (err.message !== "401") showError(`Could not change participant ${number}: ${err.message}`);
  }
}

async function toggleEnrolment() {
  try {
    await call("POST", "/api/admin/enrolment", { open: !A.open });
    await refresh();
  } catch (err) {
    if (err.message !== "401") showError(`Could not change enrolment: ${err.message}`);
  }
}

async function figure() {
  try {
    const blob = await (await call("GET", "/api/admin/fig4.png")).blob();
    if (A.figUrl) URL.revokeObjectURL(A.figUrl);
    A.figUrl = URL.createObjectURL(blob);
    $("fig4").src = A.figUrl;
    $("fig4").hidden = false;
  } catch (err) {
    if (err.status === 404) { $("fig4").hidden = true; $("fig-note").textContent = "No answers yet."; }
    else throw err;
  }
}

async function download(path, name) {
  try {
    const blob = await (await call("GET", path)).blob();
    const a = document.createElement("a");
    a.href = URL.createObjectURL(blob);
    a.download = name;
    document.body.appendChild(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(a.href), 10000);
  } catch (err) {
    if (err.message !== "401") showError(`Could not download: ${err.message}`);
  }
}

$("login").addEventListener("submit", login);
$("logout").addEventListener("click", () => logout());
$("refresh").addEventListener("click", refresh);
$("enrolment").addEventListener("click", toggleEnrolment);
$("dl-answers").addEventListener("click", () => download("/api/admin/export.csv", "answers.csv"));
$("dl-people").addEventListener("click",
  () => download("/api/admin/participants.csv", "participants.csv"));
if (A.token) enter();
