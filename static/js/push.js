// Push notifications on this device: register /sw.js, turn reminders on or off from a tap,
// and tell sign-out which device is signing out (so it stops getting this person's messages).
(function () {
  "use strict";

  var supported = "serviceWorker" in navigator;
  var panel = document.getElementById("push-settings");

  function isIOS() {
    return /iPad|iPhone|iPod/.test(navigator.userAgent) ||
      (navigator.platform === "MacIntel" && navigator.maxTouchPoints > 1);
  }

  function isStandalone() {
    return navigator.standalone === true ||
      (window.matchMedia && window.matchMedia("(display-mode: standalone)").matches);
  }

  function keyBytes(base64url) {
    var padded = (base64url + "===".slice((base64url.length + 3) % 4))
      .replace(/-/g, "+").replace(/_/g, "/");
    var raw = atob(padded);
    var bytes = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i++) bytes[i] = raw.charCodeAt(i);
    return bytes;
  }

  function registration() {
    return navigator.serviceWorker.register("/sw.js", { scope: "/" });
  }

  // This device's subscription, from the worker already registered (no network, so it is
  // quick enough to finish before a tap on "Sign out").
  function currentSubscription() {
    if (!supported) return Promise.resolve(null);
    return navigator.serviceWorker.getRegistration("/").then(function (reg) {
      return reg && reg.pushManager ? reg.pushManager.getSubscription() : null;
    }).catch(function () { return null; });
  }

  function fillSignOut(subscription) {
    var fields = document.querySelectorAll("input[data-push-endpoint]");
    for (var i = 0; i < fields.length; i++) {
      fields[i].value = subscription ? subscription.endpoint : "";
    }
  }

  // Signing out before the lookup above finished: finish it first (at most a second).
  document.addEventListener("submit", function (event) {
    var field = event.target.querySelector("input[data-push-endpoint]");
    if (!supported || !field || field.value || event.target.dataset.pushChecked) return;
    event.preventDefault();
    var form = event.target;
    form.dataset.pushChecked = "1";
    var send = function () { form.submit(); };
    var timer = setTimeout(send, 1000);
    currentSubscription().then(function (subscription) {
      fillSignOut(subscription);
      clearTimeout(timer);
      send();
    });
  });

  function countOneMore() {
    // A push arrived while this page is open; the next page load shows the exact count.
    var badge = document.querySelector("[data-unread-count]");
    if (badge) badge.textContent = String(parseInt(badge.textContent, 10) + 1);
  }

  if (supported) {
    navigator.serviceWorker.addEventListener("message", function (event) {
      if (event.data && event.data.type === "hep:notification") countOneMore();
    });
  }

  // --- The settings page ---------------------------------------------------------------

  function show(state) {
    var parts = panel.querySelectorAll("[data-push-state]");
    for (var i = 0; i < parts.length; i++) {
      parts[i].hidden = parts[i].getAttribute("data-push-state") !== state;
    }
    var help = panel.querySelector('[data-push-help="' + state + '"]');
    if (help) help.open = true;
  }

  function say(message) {
    panel.querySelector("[data-push-status]").textContent = message;
  }

  function post(url, body) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": panel.dataset.csrf },
      body: JSON.stringify(body)
    }).then(function (response) {
      if (!response.ok) throw new Error("HTTP " + response.status);
      return response;
    });
  }

  function hashOf(text) {
    if (!window.crypto || !crypto.subtle || !window.TextEncoder) return Promise.resolve("");
    return crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)).then(function (buf) {
      return Array.prototype.map.call(new Uint8Array(buf), function (b) {
        return ("0" + b.toString(16)).slice(-2);
      }).join("");
    });
  }

  // The listed device that is this one, if the server knows this device's subscription.
  function listedDevice(subscription) {
    if (!subscription) return Promise.resolve(null);
    return hashOf(subscription.endpoint).then(function (hash) {
      return hash ? document.querySelector('[data-endpoint-hash="' + hash + '"]') : null;
    });
  }

  function turnOn(button) {
    button.disabled = true;
    say(panel.dataset.msgWorking);
    Notification.requestPermission().then(function (permission) {
      if (permission !== "granted") {
        show(permission === "denied" ? "denied" : "off");
        button.disabled = false;
        return null;
      }
      return registration().then(function () {
        return navigator.serviceWorker.ready;
      }).then(function (reg) {
        return reg.pushManager.subscribe({
          userVisibleOnly: true,
          applicationServerKey: keyBytes(panel.dataset.vapidKey)
        });
      }).then(function (subscription) {
        return post(panel.dataset.subscribeUrl, subscription.toJSON());
      }).then(function () {
        window.location.reload();
      });
    }).catch(function () {
      button.disabled = false;
      say(panel.dataset.msgError);
    });
  }

  function turnOff(button) {
    button.disabled = true;
    currentSubscription().then(function (subscription) {
      if (!subscription) return null;
      var endpoint = subscription.endpoint;
      return subscription.unsubscribe().then(function () {
        return post(panel.dataset.unsubscribeUrl, { endpoint: endpoint });
      });
    }).then(function () {
      window.location.reload();
    }).catch(function () {
      button.disabled = false;
      say(panel.dataset.msgError);
    });
  }

  function setUpPanel(subscription) {
    if (isIOS() && !isStandalone()) {
      show("install");
      return;
    }
    if (!supported || !("PushManager" in window) || !("Notification" in window)) {
      show("unsupported");
      return;
    }
    if (Notification.permission === "denied") {
      show("denied");
      return;
    }
    listedDevice(subscription).then(function (device) {
      if (device) device.querySelector("[data-this-device]").hidden = false;
      show(device ? "on" : "off");
    });
  }

  if (panel) {
    panel.addEventListener("click", function (event) {
      var button = event.target.closest("[data-push-action]");
      if (!button) return;
      if (button.getAttribute("data-push-action") === "on") turnOn(button);
      else turnOff(button);
    });
  }

  if (supported) registration().catch(function () { /* no worker: the inbox still works */ });
  currentSubscription().then(function (subscription) {
    fillSignOut(subscription);
    if (panel) setUpPanel(subscription);
  });
})();
