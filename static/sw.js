/* HEP service worker, served at /sw.js so its scope is the whole site.
 *
 * Sections: lifecycle, push notifications, and (issue 7) offline pages and the log outbox.
 * Push payloads carry only a title, a body, a link on this site and a tag; never health data.
 */
"use strict";

var ICON = "/static/icons/icon-192.png";

/* --- Lifecycle ------------------------------------------------------------------------ */
// A new version installs and then waits: the page shows "A new version of HEP is ready" and
// its "Update now" button sends SKIP_WAITING (static/js/sw-offline.js). The first install
// has nothing to wait for and takes over at once.

self.addEventListener("activate", function (event) {
  event.waitUntil(self.clients.claim());
});

/* --- Push notifications --------------------------------------------------------------- */

function sameOriginPath(url) {
  try {
    var target = new URL(url || "/", self.location.origin);
    return target.origin === self.location.origin ? target.href : self.location.origin + "/";
  } catch (e) {
    return self.location.origin + "/";
  }
}

function readPush(event) {
  var message = {};
  if (event.data) {
    try {
      message = event.data.json();
    } catch (e) {
      message = { body: event.data.text() };
    }
  }
  return {
    title: message.title || "HEP",
    body: message.body || "",
    url: sameOriginPath(message.url),
    tag: message.tag || "hep"
  };
}

self.addEventListener("push", function (event) {
  var message = readPush(event);
  var shown = self.registration.showNotification(message.title, {
    body: message.body,
    tag: message.tag,
    renotify: true,
    icon: ICON,
    badge: ICON,
    data: { url: message.url }
  });
  // Open pages update their unread count without a reload.
  var told = self.clients.matchAll({ type: "window" }).then(function (list) {
    list.forEach(function (client) { client.postMessage({ type: "hep:notification" }); });
  });
  event.waitUntil(Promise.all([shown, told]));
});

// The browser replaced this device's subscription (it expired, or the push service rotated
// it): subscribe again if the browser has not, and tell the server which one it replaces, so
// reminders keep coming without the patient having to turn them on again.
function renewSubscription(oldSubscription, newSubscription) {
  var fresh = newSubscription ? Promise.resolve(newSubscription) :
    self.registration.pushManager.subscribe({
      userVisibleOnly: true,
      applicationServerKey: new Uint8Array(HEP.push.key)
    });
  return fresh.then(function (subscription) {
    return fetch(HEP.push.csrf, { credentials: "same-origin", cache: "no-store" })
      .then(function (response) {
        if (!response.ok) throw new Error("HEP push: not signed in");
        return response.json();
      })
      .then(function (me) {
        var body = subscription.toJSON();
        body.replaces = oldSubscription ? oldSubscription.endpoint : null;
        return fetch(HEP.push.subscribe, {
          method: "POST",
          credentials: "same-origin",
          headers: {
            "Content-Type": "application/json",
            "X-CSRFToken": me.csrf_token,
            "X-HEP-Background": "push"
          },
          body: JSON.stringify(body)
        });
      });
  });
}

self.addEventListener("pushsubscriptionchange", function (event) {
  event.waitUntil(renewSubscription(event.oldSubscription, event.newSubscription)
    .catch(function () { /* signed out or offline: "Turn on reminders" will do it */ }));
});

self.addEventListener("notificationclick", function (event) {
  event.notification.close();
  var url = sameOriginPath(event.notification.data && event.notification.data.url);
  event.waitUntil(
    self.clients.matchAll({ type: "window", includeUncontrolled: true }).then(function (list) {
      for (var i = 0; i < list.length; i++) {
        var client = list[i];
        if (new URL(client.url).origin === self.location.origin && "focus" in client) {
          return client.focus().then(function (focused) {
            var open = focused || client;
            return "navigate" in open ? open.navigate(url) : open;
          }).catch(function () {
            return self.clients.openWindow(url);
          });
        }
      }
      return self.clients.openWindow(url);
    })
  );
});

/* --- Offline pages and the log outbox ----------------------------------------------------- */
// The server appends static/js/outbox.js and static/js/sw-offline.js here (hep/offline.py,
// worker_script): one file, so a navigation's update check fetches one script, not three.
