// Live tables: every second ask whether anything changed; if so, reload the rows.
(function () {
  "use strict";
  var body = document.querySelector("tbody[data-live]");
  if (!body || !body.dataset.live) { return; }
  var badge = document.querySelector(".live");
  var seen = null;
  function rows() {
    return fetch(body.dataset.live, { credentials: "same-origin" }).then(function (r) {
      return r.ok ? r.text() : null;
    }).then(function (html) { if (html !== null) { body.innerHTML = html; } });
  }
  function tick() {
    fetch("/live/version", { credentials: "same-origin" }).then(function (r) {
      return r.ok ? r.json() : null;
    }).then(function (answer) {
      if (answer === null) { return; }
      if (badge) { badge.hidden = false; }
      if (seen !== null && answer.version !== seen) { seen = answer.version; return rows(); }
      seen = answer.version;
    }).catch(function () { if (badge) { badge.hidden = true; } })
      .then(function () { setTimeout(tick, 1000); });
  }
  tick();
})();
