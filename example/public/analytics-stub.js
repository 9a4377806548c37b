// A stand-in for the script-tag tracker (src/tracker), with the part of its
// interface the example page uses: window.analytics.pageview() and
// .track(name, props), automatic pageviews on load and on SPA navigation,
// configured by data-key and data-api. One event per request, cookieless (the
// ingest route derives the visitor from the request), text/plain so no CORS
// preflight. No batching, retries or persistence: that is the tracker's job.
(function () {
  var script = document.currentScript;
  var key = script.dataset.key;
  var api = script.dataset.api || "/analytics/ingest";
  var tz = Intl.DateTimeFormat().resolvedOptions().timeZone;
  var id = function () {
    return Date.now().toString(36) + Math.random().toString(36).slice(2);
  };
  var screenClass = function (w) {
    return w < 576 ? "mobile" : w < 992 ? "tablet" : w < 1440 ? "laptop" : "desktop";
  };
  var lastPath = null;
  var lastUrl = document.referrer;
  function send(event) {
    var body = { key: key, batchId: id(), sentAt: Date.now(), events: [Object.assign({ id: id(), occurredAt: Date.now(), url: location.href, screen: screenClass(innerWidth), tz: tz }, event)] };
    fetch(api, { method: "POST", body: JSON.stringify(body), keepalive: true, headers: { "Content-Type": "text/plain" } }).catch(function () {});
  }
  var analytics = {
    pageview: function (opts) {
      send(Object.assign({ type: "pageview", title: document.title, referrer: lastUrl || undefined }, opts));
      lastUrl = location.href;
    },
    track: function (name, props) {
      send({ type: "track", name: name, props: props });
    },
  };
  function onNavigate() {
    if (location.pathname === lastPath) return;
    lastPath = location.pathname;
    analytics.pageview();
  }
  ["pushState", "replaceState"].forEach(function (method) {
    var original = history[method];
    history[method] = function () {
      original.apply(this, arguments);
      onNavigate();
    };
  });
  addEventListener("popstate", onNavigate);
  window.analytics = analytics;
  onNavigate();
})();
