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
 */
(function (w, d) {
  try {
    var loc = w.location;
    var nav = w.navigator;
    var html = d.documentElement;
    var previous = w.luister;

    // Loaded twice on one page: the first copy keeps working, this one stays quiet.
    if (previous && previous.l) return;

    // <html> stands in if the script tag is unknown (module or inline): data-* lookups give null.
    var script = d.currentScript || html;
    var attr = function (name) { return script.getAttribute('data-' + name); };
    var list = function (value) { return (value || '').split(/\s*,\s*/); };
    // Runs a handler, swallowing any error.
    var guard = function (fn) {
      return function (a) {
        try { fn(a); } catch (e) { /* never break the host page */ }
      };
    };

    var domain = attr('domain') || loc.hostname;
    var api = attr('api') || new URL('/api/event', script.src || loc.href).href;
    var hashMode = attr('hash') != null;

    // data-exclude="/admin,/admin/**,/intern/*": `*` is one path segment, `**` anything.
    var excluded = list(attr('exclude')).map(function (glob) {
      return RegExp('^' + glob
        .replace(/[^\w\/*-]/g, '\\$&')
        .replace(/\*\*?/g, function (m) { return m[1] ? '.*' : '[^/]*'; }) + '$');
    });

    // Local development and automated browsers are not counted, unless data-allow-local.
    var local = attr('allow-local') == null &&
      (/^(localhost|127\.0\.0\.1)$/.test(loc.hostname) || loc.protocol == 'file:' || nav.webdriver);
    // Whether the current page matches data-exclude; set by page() for each page.
    var excludedPage;

    var ignored = function () {
      var optOut;
      try { optOut = w.localStorage.luister_ignore == 'true'; } catch (e) { /* storage blocked */ }
      return optOut || w.luister_ignore || html.hasAttribute('data-luister-ignore') || local || excludedPage;
    };

    // Sends one event body; `done` runs afterwards (also when the event is ignored).
    var post = function (body, done) {
      if (ignored()) return done && done();
      if (hashMode) body.h = 1;
      body = JSON.stringify(body);
      // A string body goes out as text/plain: a "simple" request, no CORS preflight.
      if (w.fetch) w.fetch(api, { method: 'POST', body: body, keepalive: true }).then(done, done);
      else nav.sendBeacon(api, body), done && done();
    };

    // luister('Name', {props, revenue: {amount, currency}, interactive: false, callback})
    // luister('search', {query, results})
    var track = function (name, opts) {
      try {
        opts = opts || {};
        var body = { n: name, u: loc.href, d: domain, r: d.referrer || null };
        var src = opts.props;
        if (name == 'search') src = { query: opts.query, results: opts.results, ...src };
        if (src) {
          var props = body.p = {};
          for (var key in src) if (src[key] != null) props[key] = '' + src[key];
        }
        if (opts.revenue) body.revenue = opts.revenue;
        if (opts.interactive === false) body.i = false;
        post(body, opts.callback);
      } catch (e) { /* never break the host page */ }
    };
    track.l = 1;

    if (FULL) {
      var enabled = list(attr('track'));
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
          post({ n: 'engagement', u: pageUrl, d: domain, sd: depth, e: engagedMs });
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
      var extensions = list((attr('download-extensions') ||
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

    var lastPage;
    // page() on load, page(truthy) after an SPA navigation.
    var page = function (later) {
      // The same URL twice in a row (pushState to itself, a doubled popstate) is one view.
      var key = hashMode ? loc.href : loc.href.split('#')[0];
      if (key == lastPage) return;
      lastPage = key;
      var opts = {};
      if (!later) {
        // A server-rendered search result page tells its result count.
        var el = d.querySelector('[data-search-results],[name="luister:search-results"]');
        var count = el && (el.content || el.getAttribute('data-search-results'));
        if (/^\d+$/.test(count)) opts.props = { results: count };
      }
      // Engagement of the page being left is still judged by that page's exclusion.
      if (FULL && engagement) flush();
      excludedPage = excluded.some(function (re) { return re.test(loc.pathname); });
      if (FULL && engagement) {
        pageUrl = loc.href;
        depth = engagedMs = since = 0;
        sentDepth = -1;
        tick();
        measure();
      }
      track('pageview', opts);
      if (FULL && on('404') && d.querySelector('meta[name="luister:404"]')) {
        track('404', { props: { path: loc.pathname }, interactive: false });
      }
    };
    var navigated = guard(page);

    w.luister = track;
    page();
    // Calls made before the script loaded, in their original order.
    if (previous) (previous.q || []).map((args) => track(args[0], args[1]));

    var push = w.history.pushState;
    w.history.pushState = function () {
      push.apply(this, arguments);
      navigated(1);
    };
    w.addEventListener('popstate', navigated);
    if (hashMode) w.addEventListener('hashchange', navigated);
  } catch (e) { /* never break the host page */ }
})(window, document);
