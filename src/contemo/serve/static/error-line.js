// The error line every contemo page shows: a message in <p id="error">, hidden again after a
// few seconds so it never covers the page for good. Loaded before each page's own script.
"use strict";

function showError(message) {
  const box = document.getElementById("error");
  box.textContent = message;
  box.hidden = false;
  clearTimeout(showError.timer);
  showError.timer = setTimeout(() => { box.hidden = true; }, 6000);
}
