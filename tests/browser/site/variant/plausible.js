// Plausible's official npm tracker (@plausible-analytics/tracker), configured as a site
// would: endpoint pointed at Luister, outbound links and file downloads on.
import { init, track } from '/vendor/plausible.js';

var results = document.querySelector('[data-search-results]');
init({
  domain: location.hostname,
  endpoint: window.LUISTER + '/api/event',
  outboundLinks: true,
  fileDownloads: true,
  logging: false,
  // A server-rendered search results page tells its result count on the pageview.
  customProperties: function (name) {
    return name === 'pageview' && results ? { results: results.getAttribute('data-search-results') } : {};
  },
});
window.siteEvent = function (e) {
  track(e.category + ': ' + e.action, { props: e });
};
window.siteSearch = function (s) {
  track('search', { props: { query: s.query, results: String(s.results) } });
};
// Plausible's documented 404 tracking.
if (document.querySelector('meta[name="luister:404"]')) {
  track('404', { props: { path: location.pathname } });
}
window.plausibleRevenue = function () {
  track('Betaling', { props: { product: 'paspoort' }, revenue: { amount: '84.50', currency: 'EUR' } });
};
