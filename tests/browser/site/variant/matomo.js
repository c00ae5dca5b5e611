// A Matomo HTTP Tracking API client (npm matomo-tracker-react-native's MatomoTracker: plain
// fetch, form-encoded POST to /matomo.php) wired as a Matomo site wires matomo.js: a page
// view per page, trackSiteSearch instead of it on the results page, outlinks, downloads,
// events, and a manual page view after each single-page navigation.
import MatomoTracker from '/vendor/matomo-tracker.js';

var tracker = new MatomoTracker({ urlBase: window.LUISTER, siteId: 7 });
if (document.referrer) tracker.updateUserInfo({ urlref: document.referrer });

var page = function () {
  tracker.trackAction({ name: document.title, url: location.href });
};
var results = document.querySelector('[data-search-results]');
var keyword = new URLSearchParams(location.search).get('q');
if (results && keyword) {
  tracker.trackSiteSearch({ keyword: keyword, count: Number(results.getAttribute('data-search-results')), url: location.href });
} else {
  page();
}
window.spaNavigated = page;

var downloads = /\.(pdf|docx?|xlsx?|csv|zip|odt|ods|txt)$/i;
document.addEventListener('click', function (event) {
  var link = event.target.closest && event.target.closest('a[href]');
  if (!link || !/^https?:$/.test(link.protocol)) return;
  if (downloads.test(link.pathname)) {
    tracker.trackDownload({ download: link.href, url: location.href });
  } else if (link.host !== location.host) {
    tracker.trackLink({ link: link.href, url: location.href });
  }
});
window.siteEvent = function (e) {
  tracker.trackEvent({ category: e.category, action: e.action, name: e.name, url: location.href });
};
window.siteSearch = function (s) {
  tracker.trackSiteSearch({ keyword: s.query, count: s.results, url: location.href });
};
