/*
 * Luister tracker: cookieless page view and event tracking.
 *
 * One source, two builds (see build.mjs):
 *   FULL = false -> dist/script.js       pageviews, SPA, queue, custom events, site search, opt-out
 *   FULL = true  -> dist/script.full.js  + outbound, downloads, 404, forms, engagement
 *                                          (each still enabled only through data-track)
 * `FULL` is a build-time constant; the minifier removes the dead branches.
 *
 * Rules for this file: no cookies, no storage writes, no console output, and
 * every entry point wrapped so that an error can never break the host page.
 *
 * The default build is measured in gzipped bytes (README.md has what each
 * feature costs), so the code is written for the minifier and for gzip: one
 * send path for every event, `dataset` instead of getAttribute('data-…'), one
 * regular expression for all exclusion globs, and no helper that is used once.
 */
(function (w, d) {
  try {
    var loc = w.location;
    var nav = w.navigator;
    var html = d.documentElement;
    var previous = w.luister;

    // Loaded twice on one page: the first copy keeps working, this one stays quiet.
    if (previous && previous.l) return;

    // <html> stands in if the script tag is unknown (module or inline): its
    // dataset has none of our data-* attributes.
    var script = d.currentScript || html;
    var data = script.dataset;

    var domain = data.domain || loc.hostname;
    var api = data.api || new URL('/api/event', script.src || loc.href).href;
    var hashMode = data.hash != null;

    // data-exclude="/admin,/admin/**,/intern/*": `*` is one path segment, `**`
    // anything. All globs become one anchored alternation: every character but
    // letters, digits, `_`, `*`, commas and spaces is escaped (`\/`, `\-` and
    // `\é` mean the character itself), the commas and the spaces around them
    // become `|`. Without the attribute the expression is ^()$, which no path
    // matches.
    var excluded = RegExp('^(' + (data.exclude || '')
      .replace(/[^\w*,\s]/g, '\\$&')
      .replace(/\s*,\s*/g, '|')
      .replace(/\*\*?/g, function (m) { return m[1] ? '.*' : '[^/]*'; }) + ')$');

    // Local development and automated browsers are not counted, unless
    // data-allow-local. "http:localhost" or "file:…": protocol and host in one test.
    var local = data.allowLocal == null &&
      (/^file:|:(localhost|127\.0\.0\.1)$/.test(loc.protocol + loc.hostname) || nav.webdriver);
    // Whether the current page matches data-exclude; set by page() for each page.
    var excludedPage;
    // FULL: a finished body (engagement) that the next track() call sends as is.
    var ready;

    // luister('Name', {props, revenue: {amount, currency}, interactive: false, callback})
    // luister('search', {query, results})
    // Every event goes out here; `callback` runs afterwards (also when the event is ignored).
    var track = function (name, opts) {
      try {
        var body = FULL && ready || { n: name, u: loc.href, d: domain, r: d.referrer || null };
        var src = (opts = opts || {}).props, done = opts.callback, key, optOut;
        if (FULL) ready = 0;
        if (name == 'search') src = { query: opts.query, results: opts.results, ...src };
        if (src) {
          body.p = {};
          for (key in src) if (src[key] != null) body.p[key] = '' + src[key];
        }
        if (opts.revenue) body.revenue = opts.revenue;
        if (opts.interactive === false) body.i = false;
        try { optOut = w.localStorage.luister_ignore == 'true'; } catch (e) { /* storage blocked */ }
        if (!(optOut || w.luister_ignore || html.dataset.luisterIgnore != null || local || excludedPage)) {
          if (hashMode) body.h = 1;
          body = JSON.stringify(body);
          // A string body goes out as text/plain: a "simple" request, no CORS preflight.
          // fetch runs `done` when the request has finished; otherwise it runs below.
          if (w.fetch) w.fetch(api, { method: 'POST', body: body, keepalive: true }).then(done, done), done = 0;
          else nav.sendBeacon(api, body);
        }
        done && done();
      } catch (e) { /* never break the host page */ }
    };

    if (FULL) {
      // Runs a handler, swallowing any error.
      var guard = function (fn) {
        return function (a) {
          try { fn(a); } catch (e) { /* never break the host page */ }
        };
      };
      var list = function (value) { return (value || '').split(/\s*,\s*/); };
      var enabled = list(data.track);
      var on = function (name) { return enabled.indexOf(name) >= 0; };

      // Engagement: the furthest scroll depth (%) and the time the page was
      // visible and focused (ms), sent when the page is left or hidden.
      var engagement = on('engagement');
      var pageUrl, depth, sentDepth, engagedMs, since;
      var measure = function () {
        var height = Math.max(html.scrollHeight, d.body ? d.body.scrollHeight : 0);
        var now = height ? Math.round((w.scrollY + w.innerHeight) / height * 100) : 100;
        if (now > depth) depth = Math.min(100, now);
      };
      var tick = function () {
        var now = Date.now();
        if (since) engagedMs += now - since;
        since = d.visibilityState == 'visible' && d.hasFocus() ? now : 0;
      };
      var flush = function () {
        tick();
        // Always once per page; later only with news: deeper scroll or 3 s more engagement.
        if (pageUrl && (depth > sentDepth || engagedMs >= 3000)) {
          ready = { n: 'engagement', u: pageUrl, d: domain, sd: depth, e: engagedMs };
          track();
          sentDepth = depth;
          engagedMs = 0;
        }
      };
      if (engagement) {
        w.addEventListener('scroll', guard(measure), { passive: true });
        w.addEventListener('focus', guard(tick));
        w.addEventListener('blur', guard(tick));
        w.addEventListener('pagehide', guard(flush));
        d.addEventListener('visibilitychange', guard(function () {
          d.visibilityState == 'hidden' ? flush() : tick();
        }));
      }

      // Outbound links and file downloads: reported, never blocked or delayed.
      var extensions = list((data.downloadExtensions ||
        'pdf,docx,doc,xlsx,xls,csv,zip,odt,ods,odp,pptx,ppt,txt,rtf,mp3,mp4,epub,ics').toLowerCase())
        .map(function (ext) { return ext.replace(/^\./, ''); });
      var click = guard(function (event) {
        if (event.type == 'auxclick' && event.button != 1) return;
        var link = event.target.closest('a[href]');
        if (!link || !/^https?:$/.test(link.protocol)) return;
        var ext = link.pathname.split('.').pop().toLowerCase();
        if (on('downloads') && extensions.indexOf(ext) >= 0) {
          track('File Download', { props: { url: link.origin + link.pathname } });
        } else if (on('outbound') && link.host != loc.host) {
          track('Outbound Link: Click', { props: { url: link.href } });
        }
      });
      if (on('outbound') || on('downloads')) {
        d.addEventListener('click', click);
        d.addEventListener('auxclick', click);
      }

      // <form class="luister-track"> or <form data-luister-event="Name">
      if (on('forms')) {
        d.addEventListener('submit', guard(function (event) {
          var form = event.target;
          var name = form.getAttribute('data-luister-event');
          if (name || form.classList.contains('luister-track')) {
            track(name || 'Form: Submit', { props: {
              form: form.getAttribute('id') || new URL(form.getAttribute('action') || '', loc.href).pathname
            } });
          }
        }), true);
      }
    }

    // A server-rendered search result page tells its result count; it travels
    // on the first pageview only (page() clears it). Without such an element
    // <html> stands in: it has no `content`, and no data-search-results (else
    // it would have matched).
    var first = d.querySelector('[data-search-results],[name="luister:search-results"]') || html;
    first = /^\d+$/.test(first = first.content || first.dataset.searchResults) &&
      { props: { results: first } };

    var lastPage;
    // On load, after pushState, on popstate (and hashchange in hash mode).
    var page = function () {
      try {
        // The same URL twice in a row (pushState to itself, a doubled popstate) is one view.
        // lastPage is read, then set to this page's key.
        if (lastPage != (lastPage = hashMode ? loc.href : loc.href.split('#')[0])) {
          // Engagement of the page being left is still judged by that page's exclusion.
          if (FULL && engagement) flush();
          excludedPage = excluded.test(loc.pathname);
          if (FULL && engagement) {
            pageUrl = loc.href;
            depth = engagedMs = since = 0;
            sentDepth = -1;
            tick();
            measure();
          }
          track('pageview', first);
          first = 0;
          if (FULL && on('404') && d.querySelector('meta[name="luister:404"]')) {
            track('404', { props: { path: loc.pathname }, interactive: false });
          }
        }
      } catch (e) { /* never break the host page */ }
    };

    (w.luister = track).l = 1;
    page();
    // Calls made before the script loaded, in their original order.
    (previous && previous.q || []).map(function (args) { return track(...args); });

    var push = w.history.pushState;
    w.history.pushState = function () {
      push.apply(this, arguments);
      page();
    };
    w.addEventListener('popstate', page);
    if (hashMode) w.addEventListener('hashchange', page);
  } catch (e) { /* never break the host page */ }
})(window, document);
