/* Offline pages and the outbox replay, for the service worker. The server serves /sw.js as
 * `var HEP = {version, shell, offlinePage, push}`, then static/sw.js, static/js/outbox.js and
 * this file (hep/offline.py, worker_script): `version` is a hash of every static file, so a
 * deploy changes /sw.js and phones install the new worker, which waits until the patient taps
 * "Update".
 *
 * What is kept, and for whom:
 * - hep-static-<version>: the app shell (htmx, CSS, JS, icons, /offline), precached on install;
 *   static files are served cache-first by their versioned URL. Old versions go on activate.
 * - hep-pages: the last good copy of each page the server marked `X-HEP-Offline: keep`
 *   (the patient's Today, session, exercises, history), for ONE person: every HTML response
 *   says whose it is (X-HEP-User, empty when signed out) and a change empties this cache.
 *   Pages sent with Cache-Control: no-store (therapists' pages) are never kept; nor is
 *   anything but a GET.
 * Navigations go to the network first; with no network (or a server error, or no answer in
 * a few seconds) the kept copy is shown, else /offline.
 */
/* global HEP, hepOutbox */
"use strict";

var STATIC_CACHE = "hep-static-" + HEP.version;
var PAGES_CACHE = "hep-pages";
var WHOSE = "/__hep/whose-pages"; // an entry in PAGES_CACHE: the user id the pages belong to
var SLOW_NETWORK_MS = 6000;

function precache() {
  // Through the HTTP cache: the page has just loaded most of these, and a versioned URL never
  // changes its content (/offline is "no-cache", so it is checked with the server).
  return caches.open(STATIC_CACHE).then(function (cache) { return cache.addAll(HEP.shell); });
}

self.addEventListener("install", function (event) {
  event.waitUntil(precache());
});

self.addEventListener("activate", function (event) {
  event.waitUntil(caches.keys().then(function (names) {
    return Promise.all(names.filter(function (name) {
      return name.indexOf("hep-static-") === 0 && name !== STATIC_CACHE;
    }).map(function (name) { return caches.delete(name); }));
  }));
});

self.addEventListener("message", function (event) {
  var type = event.data && event.data.type;
  // The page's "Update" button: the waiting new version takes over now.
  if (type === "SKIP_WAITING") self.skipWaiting();
  // A patient page lists its links: keep those the server allows, so one visit to Today
  // is enough for the session and every exercise to open with no signal.
  if (type === "hep:keep") {
    warmingStopped = false;
    warming = keepLinks(event.data.current, event.data.urls || []);
    event.waitUntil(warming);
  }
  // Signing out: no request of ours may be in flight when the sign-out is (its answer could
  // bring the old sign-in back, or a page back into the emptied cache). Reply once quiet.
  if (type === "hep:signing-out") {
    warmingStopped = true;
    var port = event.ports && event.ports[0];
    event.waitUntil(warming.then(function () { if (port) port.postMessage("quiet"); }));
  }
});

/* --- Whose pages ---------------------------------------------------------------------------- */

// Changes to hep-pages happen one at a time: a page kept while another person's pages are
// being emptied would otherwise survive the emptying.
var cacheWork = Promise.resolve();
function serially(work) {
  var next = cacheWork.then(work, work);
  cacheWork = next.catch(function () {});
  return next;
}

function pagesOwner() {
  return caches.has(PAGES_CACHE).then(function (exists) {
    if (!exists) return null;
    return caches.open(PAGES_CACHE).then(function (cache) { return cache.match(WHOSE); })
      .then(function (hit) { return hit ? hit.text() : null; });
  });
}

// A response told us who is signed in ("" for nobody): someone else's pages go, and so do
// kept copies shown while the network was slow (see page()) that are not this person's.
function noteUser(user) {
  return serially(function () { return changeOwner(user); }).then(function () {
    return Promise.all(Object.keys(keptShown).map(function (clientId) {
      if (keptShown[clientId] === user) return null;
      delete keptShown[clientId];
      return tellPage(clientId, { type: "hep:reload" });
    }));
  });
}

// Windows showing a kept copy because the network was slow: client id -> whose copy it is.
var keptShown = {};

function tellPage(clientId, message) {
  return self.clients.get(clientId).then(function (client) {
    if (client) client.postMessage(message);
  });
}

function changeOwner(user) {
  return pagesOwner().then(function (owner) {
    if (owner === user) return null;
    return caches.delete(PAGES_CACHE).then(function () {
      if (!user) return null;
      return caches.open(PAGES_CACHE).then(function (cache) {
        return cache.put(WHOSE, new Response(user));
      });
    });
  });
}

function keepable(response, user) {
  var cacheControl = response.headers.get("Cache-Control") || "";
  return response.status === 200 && response.type === "basic" && !!user &&
    response.headers.get("X-HEP-Offline") === "keep" && !/no-store/i.test(cacheControl) &&
    (response.headers.get("Content-Type") || "").indexOf("text/html") === 0;
}

function keep(requestUrl, response, user) {
  return serially(function () { return keepNow(requestUrl, response, user); });
}

function keepNow(requestUrl, response, user) {
  return pagesOwner().then(function (owner) {
    if (owner !== user) return null; // changed meanwhile: keep nothing
    var finalUrl = response.url || requestUrl;
    // A redirected response cannot answer a navigation later: store a plain copy of it.
    var plain = response.redirected
      ? response.blob().then(function (body) {
        return new Response(body, { status: 200, headers: response.headers });
      })
      : Promise.resolve(response);
    return Promise.all([caches.open(PAGES_CACHE), plain]).then(function (both) {
      var cache = both[0];
      var puts = [cache.put(finalUrl, both[1])];
      if (finalUrl !== requestUrl) {
        // "/" (the installed app's start) led to "/today": remember where it led.
        puts.push(cache.put(requestUrl, new Response("", { headers: { "X-HEP-Alias": finalUrl } })));
      }
      return Promise.all(puts);
    });
  });
}

function keptPage(url) {
  return caches.has(PAGES_CACHE).then(function (exists) {
    if (!exists) return null;
    return caches.open(PAGES_CACHE).then(function (cache) {
      return cache.match(url, { ignoreVary: true }).then(function (hit) {
        var alias = hit && hit.headers.get("X-HEP-Alias");
        return alias ? cache.match(alias, { ignoreVary: true }) : hit;
      });
    });
  });
}

var warming = Promise.resolve();
var warmingStopped = false;

function fetchAndKeep(url) {
  // Marked as a background copy: the server leaves its one-time messages for the real page.
  var init = { credentials: "same-origin", cache: "no-cache", headers: { "X-HEP-Background": "keep" } };
  return fetch(url, init).then(function (response) {
    var user = response.headers.get("X-HEP-User");
    if (user === null) return null;
    var copy = keepable(response, user) ? response : null;
    return noteUser(user).then(function () { return copy ? keep(url, copy, user) : null; });
  }).catch(function () { /* no network: nothing to keep now */ });
}

function keepLinks(current, paths) {
  // The page itself (it may have come before this worker did), then each link not kept yet.
  var here = new URL(current, self.location.origin).href;
  return paths.slice(0, 40).reduce(function (chain, path) {
    var url = new URL(path, self.location.origin).href;
    return chain.then(function () {
      if (warmingStopped) return null;
      if (url === here) return fetchAndKeep(url);
      return keptPage(url).then(function (hit) { return hit ? null : fetchAndKeep(url); });
    });
  }, Promise.resolve()).catch(function () {});
}

/* --- Fetch -------------------------------------------------------------------------------- */

function page(event) {
  var request = event.request;
  // Sign-out empties every cache; the app shell comes back with the next page.
  event.waitUntil(caches.has(STATIC_CACHE).then(function (has) { return has || precache(); })
    .catch(function () {}));

  var networkAnswered = false;

  var network = fetch(request).then(function (response) {
    networkAnswered = true;
    var user = response.headers.get("X-HEP-User");
    if (user !== null) {
      var copy = keepable(response, user) ? response.clone() : null;
      event.waitUntil(noteUser(user).then(function () {
        if (keptShown[event.resultingClientId] === user) delete keptShown[event.resultingClientId];
        return copy ? keep(request.url, copy, user) : null;
      }).catch(function () {}));
    }
    if (response.status >= 500) {
      return keptPage(request.url).then(function (hit) { return hit || response; });
    }
    return response;
  }, function (error) {
    networkAnswered = true;
    throw error;
  });

  var fallback = function () {
    return keptPage(request.url).then(function (hit) {
      return hit || caches.match(HEP.offlinePage);
    }).then(function (hit) { return hit || Response.error(); });
  };

  // A weak signal in a basement: after a few seconds, the kept copy (if there is one). When
  // the server does answer, a copy that is not for whoever is signed in reloads (noteUser).
  var slow = new Promise(function (resolve) {
    setTimeout(function () {
      Promise.all([keptPage(request.url), pagesOwner()]).then(function (found) {
        if (!found[0] || networkAnswered) return;
        if (event.resultingClientId) keptShown[event.resultingClientId] = found[1];
        resolve(found[0]);
      });
    }, SLOW_NETWORK_MS);
  });
  return Promise.race([network.catch(fallback), slow]);
}

function staticFile(request) {
  return caches.match(request).then(function (hit) {
    if (hit) return hit;
    return fetch(request).then(function (response) {
      if (response.status === 200 && new URL(request.url).searchParams.get("v")) {
        var copy = response.clone();
        caches.open(STATIC_CACHE).then(function (cache) { return cache.put(request, copy); });
      }
      return response;
    }).catch(function () {
      // A page kept from an older version asks for older files: the current ones will do.
      return caches.match(request, { ignoreSearch: true }).then(function (old) {
        return old || Response.error();
      });
    });
  });
}

// Exercise photos, kept beside the pages (they are the patient's, so they go with them).
function picture(event) {
  var request = event.request;
  return fetch(request).then(function (response) {
    if (response.status === 200 && !/no-store/i.test(response.headers.get("Cache-Control") || "")) {
      var copy = response.clone();
      event.waitUntil(serially(function () {
        return pagesOwner().then(function (owner) {
          return owner ? caches.open(PAGES_CACHE).then(function (cache) {
            return cache.put(request.url, copy);
          }) : null;
        });
      }).catch(function () {}));
    }
    return response;
  }).catch(function () {
    return keptPage(request.url).then(function (hit) { return hit || Response.error(); });
  });
}

self.addEventListener("fetch", function (event) {
  var request = event.request;
  if (request.method !== "GET") return; // a POST always goes to the server, never to a cache
  var url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (request.mode === "navigate") {
    event.respondWith(page(event));
  } else if (url.pathname.indexOf("/static/") === 0) {
    event.respondWith(staticFile(request));
  } else if (url.pathname.indexOf("/library/media/") === 0 && request.destination === "image") {
    event.respondWith(picture(event));
  }
  // Everything else (the API, htmx partials, videos) goes to the network as usual.
});

/* --- Background Sync: send the outbox --------------------------------------------------------- */

function tellPages(message) {
  return self.clients.matchAll({ type: "window", includeUncontrolled: true }).then(function (list) {
    list.forEach(function (client) { client.postMessage(message); });
  });
}

self.addEventListener("sync", function (event) {
  if (event.tag !== hepOutbox.SYNC_TAG) return;
  event.waitUntil(hepOutbox.replay().then(function (result) {
    var news = { type: "hep:outbox", outcomes: result.outcomes, signin: result.signin };
    return tellPages(news).then(function () {
      // Still no network: fail, so the browser tries again later.
      if (result.offline) throw new Error("HEP outbox: not sent yet");
    });
  }));
});
