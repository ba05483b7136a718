// Live parts of console pages: an element with data-poll="URL" data-every="SECONDS" is
// replaced by a fresh copy of its fragment while the page is visible. No framework, no
// inline script (the CSP forbids it). A 401 means the session ended: say so and stop.
"use strict";
document.querySelectorAll("[data-poll]").forEach(function (el) {
  var every = Math.max(2, parseInt(el.dataset.every || "10", 10)) * 1000;
  var timer = setInterval(function () {
    if (document.hidden) { return; }
    fetch(el.dataset.poll, { credentials: "same-origin", headers: { "X-Console-Fetch": "1" } })
      .then(function (response) {
        if (response.status === 401) {
          clearInterval(timer);
          el.insertAdjacentHTML("afterbegin", '<p class="error">Your session ended: reload to log in.</p>');
          return null;
        }
        return response.ok ? response.text() : null;
      })
      .then(function (html) { if (html !== null) { el.innerHTML = html; } })
      .catch(function () { /* the next tick tries again */ });
  }, every);
});
