// Enhancements only: every page works without this file.
// - the hold's countdown, and a warning two minutes before it ends (announced to screen readers);
// - a free time in the visitor's own zone, when it differs from the clinic's;
// - focus moves to a step swapped in by htmx, so keyboard and screen-reader users land on it.
(function () {
  "use strict";

  function pad(n) { return (n < 10 ? "0" : "") + n; }

  function startCountdowns(root) {
    root.querySelectorAll(".countdown[data-expires]").forEach(function (el) {
      var ends = Date.parse(el.getAttribute("data-expires"));
      var warning = document.querySelector("[data-countdown-warning]");
      var warned = false;
      el.hidden = false;
      function tick() {
        var left = Math.max(0, Math.round((ends - Date.now()) / 1000));
        el.textContent = "(" + Math.floor(left / 60) + ":" + pad(left % 60) + ")";
        if (left <= 120 && !warned && warning) {
          warning.textContent = warning.getAttribute("data-countdown-warning");
          warned = true;
        }
        if (left > 0 && document.body.contains(el)) { setTimeout(tick, 1000); }
      }
      tick();
    });
  }

  function showTheirTimes(root) {
    var theirs;
    try { theirs = Intl.DateTimeFormat().resolvedOptions().timeZone; } catch (e) { return; }
    root.querySelectorAll("time.their-time[data-clinic-zone]").forEach(function (el) {
      if (!theirs || theirs === el.getAttribute("data-clinic-zone")) { return; }
      var at = new Date(el.getAttribute("datetime"));
      var text = at.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", timeZone: theirs });
      el.textContent = "(" + text + " " + theirs.replace(/_/g, " ") + ")";
    });
  }

  function enhance(root) {
    startCountdowns(root);
    showTheirTimes(root);
  }

  document.addEventListener("DOMContentLoaded", function () { enhance(document); });
  document.addEventListener("htmx:afterSwap", function (event) {
    enhance(event.detail.target);
    var heading = event.detail.target.querySelector("h1, h2");
    if (heading && event.detail.target.id === "step") {
      heading.setAttribute("tabindex", "-1");
      heading.focus();
    }
  });
})();
