// Glue for our own tracker (loaded with data-track, see lib/static-server.js): the page's
// hooks become luister() calls.
window.siteEvent = function (e) {
  window.luister(e.category + ': ' + e.action, { props: e });
};
window.siteSearch = function (s) {
  window.luister('search', { query: s.query, results: s.results });
};
