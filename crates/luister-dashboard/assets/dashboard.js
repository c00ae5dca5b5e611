// Luister dashboard enhancements. Every page works without this file; it only adds
// periodic refresh (realtime page and monitor) and keyboard shortcuts.
(function () {
  "use strict";
  var root = document.documentElement;
  var refresh = parseInt(root.getAttribute("data-refresh") || "0", 10);
  if (refresh > 0) {
    var refreshPart = function () {
      fetch(window.location.href, { credentials: "same-origin", headers: { "X-Luister-Refresh": "1" } })
        .then(function (r) { return r.ok ? r.text() : null; })
        .then(function (html) {
          if (!html) { return; }
          var next = new DOMParser().parseFromString(html, "text/html").querySelector("[data-live]");
          var current = document.querySelector("[data-live]");
          if (next && current) { current.replaceWith(next); }
        })
        .catch(function () { /* keep the last numbers; try again next time */ });
    };
    window.setInterval(refreshPart, refresh * 1000);
  }
  // Shortcuts as in other analytics tools: t = today, w = 7 days, m = this month, y = 12 months.
  var periods = { t: "day", w: "7d", d: "30d", m: "month", y: "12mo" };
  document.addEventListener("keydown", function (e) {
    if (e.ctrlKey || e.metaKey || e.altKey) { return; }
    var tag = (e.target && e.target.tagName) || "";
    if (tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT") { return; }
    var period = periods[e.key];
    var link = period && document.querySelector('[data-period="' + period + '"]');
    if (link) { window.location.href = link.href; }
  });
})();
