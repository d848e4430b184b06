// Live pages: every second ask whether anything changed; if so, reload the rows
// (tables) or the page (one incident, which has no form to lose); the overview's host
// cards on their own clock.
(function () {
  "use strict";
  // Host cards change with every heartbeat, not only with incidents: reloaded every 5 s.
  var hosts = document.querySelector("[data-live-hosts]");
  if (hosts) {
    setInterval(function () {
      fetch(hosts.dataset.liveHosts, { credentials: "same-origin" }).then(function (r) {
        return r.ok ? r.text() : null;
      }).then(function (html) { if (html !== null) { hosts.innerHTML = html; } })
        .catch(function () { return null; });
    }, 5000);
  }
  var body = document.querySelector("tbody[data-live]");
  var whole = document.querySelector("[data-live-page]");
  if (!(body && body.dataset.live) && !whole) { return; }
  var badge = document.querySelector(".live");
  var seen = null;
  function refresh() {
    if (!body || !body.dataset.live) { window.location.reload(); return null; }
    return fetch(body.dataset.live, { credentials: "same-origin" }).then(function (r) {
      return r.ok ? r.text() : null;
    }).then(function (html) { if (html !== null) { body.innerHTML = html; } });
  }
  function tick() {
    fetch("/live/version", { credentials: "same-origin" }).then(function (r) {
      return r.ok ? r.json() : null;
    }).then(function (answer) {
      if (answer === null) { return null; }
      if (badge) { badge.hidden = false; }
      var changed = seen !== null && answer.version !== seen;
      seen = answer.version;
      return changed ? refresh() : null;
    }).catch(function () { if (badge) { badge.hidden = true; } })
      .then(function () { setTimeout(tick, 1000); });
  }
  tick();
})();
