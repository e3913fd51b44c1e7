/* The offline outbox: a session logged on this phone waits in IndexedDB until the server has it.
 *
 * One file for two places. The storage and the replay (first half) run in the page and in the
 * service worker (the server appends this file to /sw.js) to replay on Background Sync. The
 * page half wires the guided session's form, the "waiting to be sent" line, the sign-out
 * check, the "update available" bar and the install hint. Without this file (or without
 * IndexedDB) the session form posts as a plain HTML form.
 *
 * Replays are safe to repeat: the server stores each client_uuid once (POST /api/v1/sessions
 * answers 201 the first time and 200 with the same session after).
 */
(function (global) {
  "use strict";

  var DB_NAME = "hep-offline";
  var OUTBOX = "outbox"; // { client_uuid, body, user_id, queued_at, state: waiting|rejected }
  var SENT = "sent"; // { client_uuid, id, sent_at }: ids already used, never reused
  var SYNC_TAG = "hep-outbox";
  var API = "/api/v1";

  // --- IndexedDB --------------------------------------------------------------------------

  function openDb() {
    return new Promise(function (resolve, reject) {
      var request = global.indexedDB.open(DB_NAME, 1);
      request.onupgradeneeded = function () {
        var db = request.result;
        if (!db.objectStoreNames.contains(OUTBOX)) db.createObjectStore(OUTBOX, { keyPath: "client_uuid" });
        if (!db.objectStoreNames.contains(SENT)) db.createObjectStore(SENT, { keyPath: "client_uuid" });
      };
      request.onsuccess = function () { resolve(request.result); };
      request.onerror = function () { reject(request.error); };
    });
  }

  // Run `work(stores)` in one transaction; resolves with what its last request returned.
  function transaction(names, mode, work) {
    return openDb().then(function (db) {
      return new Promise(function (resolve, reject) {
        var tx = db.transaction(names, mode);
        var stores = {};
        names.forEach(function (name) { stores[name] = tx.objectStore(name); });
        var result;
        var request = work(stores);
        if (request) request.onsuccess = function () { result = request.result; };
        tx.oncomplete = function () { db.close(); resolve(result); };
        tx.onerror = tx.onabort = function () { db.close(); reject(tx.error); };
      });
    });
  }

  function entries() {
    return transaction([OUTBOX], "readonly", function (s) { return s[OUTBOX].getAll(); })
      .then(function (list) { return list || []; });
  }

  function save(entry) {
    return transaction([OUTBOX], "readwrite", function (s) { return s[OUTBOX].put(entry); });
  }

  function forget(uuid) {
    return transaction([OUTBOX], "readwrite", function (s) { return s[OUTBOX].delete(uuid); });
  }

  function markSent(uuid, out) {
    return transaction([OUTBOX, SENT], "readwrite", function (s) {
      s[OUTBOX].delete(uuid);
      return s[SENT].put({ client_uuid: uuid, id: out.id, sent_at: new Date().toISOString() });
    });
  }

  function known(uuid) {
    return transaction([OUTBOX], "readonly", function (s) {
      return s[OUTBOX].count(uuid);
    }).then(function (queued) {
      if (queued) return true;
      return transaction([SENT], "readonly", function (s) { return s[SENT].count(uuid); })
        .then(function (sent) { return sent > 0; });
    });
  }

  function clearAll() {
    return transaction([OUTBOX, SENT], "readwrite", function (s) {
      s[SENT].clear();
      return s[OUTBOX].clear();
    });
  }

  // --- Talking to the server -----------------------------------------------------------------

  var TIMEOUT_MS = 20000; // a weak signal can leave a request hanging for minutes

  function call(method, path, token, body) {
    var headers = { Accept: "application/json" };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    if (token) headers["X-CSRFToken"] = token;
    var abort = global.AbortController ? new global.AbortController() : null;
    var timer = abort ? setTimeout(function () { abort.abort(); }, TIMEOUT_MS) : null;
    return global.fetch(API + path, {
      method: method,
      credentials: "same-origin",
      cache: "no-store",
      headers: headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: abort ? abort.signal : undefined
    }).then(function (response) {
      return response.json().catch(function () { return null; }).then(function (json) {
        return { status: response.status, json: json };
      });
    }).finally(function () { clearTimeout(timer); });
  }

  function firstMessage(json) {
    if (json && json.detail && json.detail.length) return json.detail[0].msg;
    return json && json.error ? json.error : "";
  }

  // One replay at a time across the page and the worker, where the browser has Web Locks.
  function exclusively(work) {
    var locks = global.navigator && global.navigator.locks;
    return locks ? locks.request("hep-outbox", work) : work();
  }

  /* Send every waiting session of the signed-in person. Resolves with
   *   { user: id|null, signin: bool, offline: bool, outcomes: {uuid: {status, out?}} }
   * 401 keeps the queue (sign in, then it sends); 404/422/403 mark that one rejected (the
   * server will never take it; it stays listed until sign-out); 5xx or no network keeps it. */
  function replay() {
    return exclusively(function () {
      var result = { user: null, signin: false, offline: false, outcomes: {} };
      return entries().then(function (list) {
        var waiting = list.filter(function (e) { return e.state === "waiting"; })
          .sort(function (a, b) { return a.queued_at < b.queued_at ? -1 : 1; });
        if (!waiting.length) return result;
        var token = null;

        function freshToken() {
          return call("GET", "/csrf").then(function (answer) {
            if (answer.status === 401) { result.signin = true; return false; }
            if (answer.status !== 200 || !answer.json) { result.offline = true; return false; }
            token = answer.json.csrf_token;
            result.user = answer.json.user_id;
            return true;
          });
        }

        function sendOne(entry, retried) {
          return call("POST", "/sessions", token, entry.body).then(function (answer) {
            var status = answer.status;
            result.outcomes[entry.client_uuid] = { status: status, out: answer.json };
            if (status === 200 || status === 201) return markSent(entry.client_uuid, answer.json).then(function () { return true; });
            if (status === 400 && !retried) {
              // The token expired between the two calls: one new token, one more try.
              return freshToken().then(function (ok) { return ok && sendOne(entry, true); });
            }
            if (status === 401) { result.signin = true; return false; }
            if (status === 403 || status === 404 || status === 422) {
              entry.state = "rejected";
              entry.error = firstMessage(answer.json);
              return save(entry).then(function () { return true; });
            }
            result.offline = true; // the server is having a moment: keep it for later
            return false;
          });
        }

        return freshToken().then(function (ok) {
          if (!ok) return result;
          var mine = waiting.filter(function (e) { return e.user_id == null || e.user_id === result.user; });
          return mine.reduce(function (chain, entry) {
            return chain.then(function (goOn) { return goOn && sendOne(entry, false); });
          }, Promise.resolve(true)).then(function () { return result; });
        });
      }).catch(function () {
        result.offline = true; // no network (fetch threw): everything stays queued
        return result;
      });
    });
  }

  function counts(userId) {
    return entries().then(function (list) {
      var mine = list.filter(function (e) { return userId == null || e.user_id == null || e.user_id === userId; });
      return {
        waiting: mine.filter(function (e) { return e.state === "waiting"; }).length,
        rejected: mine.filter(function (e) { return e.state === "rejected"; }).length,
        all: list.length
      };
    });
  }

  global.hepOutbox = {
    SYNC_TAG: SYNC_TAG,
    entries: entries,
    save: save,
    forget: forget,
    known: known,
    clearAll: clearAll,
    replay: replay,
    counts: counts
  };

  if (typeof document === "undefined") return; // in the service worker: storage and replay only

  /* ====================================================================================== */
  /* The page                                                                               */
  /* ====================================================================================== */

  var ui = document.getElementById("hep-offline");
  var hasStorage = "indexedDB" in window;
  var hasWorker = "serviceWorker" in navigator;
  var userId = ui && ui.getAttribute("data-user") ? parseInt(ui.getAttribute("data-user"), 10) : null;
  var lastResult = null;
  var justSent = 0;
  var saved = null; // the "Saved on this phone" screen, once shown: {uuid, form, body}

  function text(name, n) {
    var template = ui.getAttribute("data-" + name + (n === 1 ? "-one" : "-many")) ||
      ui.getAttribute("data-" + name) || "";
    return template.replace("{n}", String(n));
  }

  // --- "N waiting to be sent" ----------------------------------------------------------------

  function showStatus(state, n) {
    var line = ui && ui.querySelector("[data-sync-status]");
    if (!line) return;
    if (saved) {
      // The "Saved on this phone" screen says it already; it only changes for a sign-in.
      line.hidden = true;
      if (state === "signin") showSaved(true);
      return;
    }
    var parts = line.querySelectorAll("[data-sync-state]");
    for (var i = 0; i < parts.length; i++) {
      var part = parts[i];
      var on = part.getAttribute("data-sync-state") === state;
      part.hidden = !on;
      if (on) {
        var words = part.querySelector("[data-words]");
        if (words) words.textContent = text("sync-" + state, n);
      }
    }
    line.hidden = !state;
    line.className = "sync-status" + (state ? " sync-" + state : "");
  }

  function refreshStatus() {
    if (!ui || !hasStorage) return Promise.resolve();
    return counts(userId).then(function (c) {
      if (lastResult && lastResult.signin && c.waiting) return showStatus("signin", c.waiting);
      if (c.waiting) return showStatus("waiting", c.waiting);
      if (c.rejected) return showStatus("rejected", c.rejected);
      if (justSent) return showStatus("synced", justSent);
      if (navigator.onLine === false) return showStatus("offline", 0);
      return showStatus("", 0);
    }).catch(function () { /* storage unavailable: nothing to show */ });
  }

  // --- Today, counting what is saved on this phone ----------------------------------------------
  // A session saved here today is not in the server's numbers on the page yet: without this,
  // Today would still say "Start" right after it (and after one stopped by a red flag).

  function localDay(iso) {
    var when = new Date(iso);
    if (isNaN(when.getTime())) return "";
    function two(n) { return (n < 10 ? "0" : "") + n; }
    return when.getFullYear() + "-" + two(when.getMonth() + 1) + "-" + two(when.getDate());
  }

  // What the server will make of a session (hep/patient/schemas.py): why it stopped, if it did,
  // and whether it counts (an exercise done in it).
  function stopReason(body) {
    if (body.red_flags && body.red_flags.length) return "red_flag";
    if (body.warmup_soreness === "continues") return "soreness";
    return null;
  }

  function counted(body) {
    return (body.exercises || []).some(function (e) {
      return !e.skipped_reason && (e.sets_done || []).some(function (n) { return n > 0; });
    });
  }

  function showQueuedOnToday() {
    var card = document.querySelector("[data-today-due]");
    if (!card || !hasStorage) return Promise.resolve();
    var day = card.getAttribute("data-date");
    var program = parseInt(card.getAttribute("data-program"), 10);
    if (localDay(Date.now()) !== day) return Promise.resolve(); // a page kept from another day
    return entries().then(function (list) {
      var today = list.filter(function (e) {
        return e.user_id === userId && e.state === "waiting" && e.body.program_id === program &&
          localDay(e.body.performed_at) === day;
      });
      var reasons = today.map(function (e) { return stopReason(e.body); });
      var stopped = reasons.indexOf("red_flag") >= 0 ? "red_flag" :
        reasons.indexOf("soreness") >= 0 ? "soreness" : null;
      var done = parseInt(card.getAttribute("data-done"), 10) +
        today.filter(function (e) { return counted(e.body); }).length;
      var shown = stopped || (done >= parseInt(card.getAttribute("data-due"), 10) ? "done" : null);
      if (!shown) return;
      card.hidden = true;
      document.querySelectorAll("[data-today-queued]").forEach(function (part) {
        part.hidden = part.getAttribute("data-today-queued") !== shown;
      });
      var start = document.querySelector("[data-today-start]");
      if (start) start.hidden = true;
      var extra = document.querySelector("[data-today-extra]");
      if (extra) extra.hidden = shown !== "done";
    }).catch(function () { /* storage unavailable: the server's numbers stay */ });
  }

  function sentCount(result) {
    var n = 0;
    Object.keys(result.outcomes).forEach(function (uuid) {
      var s = result.outcomes[uuid].status;
      if (s === 200 || s === 201) n++;
    });
    return n;
  }

  var replaying = null;
  var again = false; // asked again while a replay was under way: one more after it
  function replayNow() {
    if (!hasStorage) return Promise.resolve(null);
    if (replaying) {
      again = true;
      return replaying;
    }
    replaying = counts(userId).then(function (c) {
      if (!c.waiting) return null;
      showStatus("sending", c.waiting);
      return replay().then(function (result) {
        lastResult = result;
        justSent += sentCount(result);
        return result;
      });
    }).then(function (result) {
      if (result && afterSending(result)) return result;
      retryLater(result);
      return refreshStatus().then(function () { return result; });
    }, function () { return null; }).then(function (result) {
      replaying = null;
      if (again && !(result && result.reloading)) {
        again = false;
        replayNow();
      }
      return result;
    });
    return replaying;
  }

  // The phone says it is online but the send failed (a weak signal, a server restarting):
  // try again in 5 s, 15 s, 45 s, then wait for the next "online" or visit.
  var retries = 0;
  function retryLater(result) {
    if (!result || !result.offline || navigator.onLine === false || retries >= 3) {
      if (result && !result.offline) retries = 0;
      return;
    }
    setTimeout(replayNow, 5000 * Math.pow(3, retries));
    retries++;
  }

  // Sent: the "Saved" screen becomes the server's result for that session; a page kept from
  // before (Today with yesterday's numbers) is loaded again, and says "All sent". A page
  // with a form being filled in is left alone.
  function afterSending(result) {
    var mine = saved && result.outcomes[saved.uuid];
    if (mine && (mine.status === 200 || mine.status === 201)) {
      result.reloading = true;
      window.location.assign(doneUrl(saved.form, mine.out.id));
      return true;
    }
    if (!sentCount(result) || document.querySelector("main form:not([action$='/logout'])")) return false;
    try { sessionStorage.setItem("hep-just-sent", String(justSent)); } catch (e) { return false; }
    result.reloading = true;
    window.location.reload();
    return true;
  }

  function askForBackgroundSync() {
    if (!hasWorker) return Promise.resolve(false);
    return navigator.serviceWorker.ready.then(function (reg) {
      if (!reg.sync || !reg.sync.register) return false;
      return reg.sync.register(SYNC_TAG).then(function () { return true; });
    }).catch(function () { return false; });
  }

  // --- The guided session's form ----------------------------------------------------------------

  function newUuid() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    var bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    var hex = Array.prototype.map.call(bytes, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
    return hex.slice(0, 8) + "-" + hex.slice(8, 12) + "-" + hex.slice(12, 16) + "-" + hex.slice(16, 20) + "-" + hex.slice(20);
  }

  function checkedValue(form, name) {
    var input = form.querySelector('input[name="' + name + '"]:checked');
    return input ? input.value : "";
  }

  function fieldValue(form, name) {
    var input = form.elements.namedItem(name);
    return input && "value" in input ? String(input.value).trim() : "";
  }

  // Numbers as numbers; anything else is sent as typed, and the server's 422 says what is wrong.
  function int(raw) { return /^\d{1,9}$/.test(raw) ? parseInt(raw, 10) : raw; }
  function decimal(raw) { return /^\d{1,6}(\.\d+)?$/.test(raw) ? parseFloat(raw) : raw; }

  /* The SessionSubmission the API validates, read from the form the way the server reads it
   * (hep/patient/schemas.py parse_session_form): the answers of a session stopped in the
   * warm-up are left out, a skipped exercise keeps only its reason, red flags are the "yes"es. */
  function submissionFrom(form) {
    var warmup = checkedValue(form, "warmup_soreness") || "none";
    var stopped = warmup === "continues";
    var body = {
      client_uuid: fieldValue(form, "client_uuid"),
      program_id: int(fieldValue(form, "program_id")),
      performed_at: fieldValue(form, "performed_at"),
      warmup_soreness: warmup,
      notes: form.elements.namedItem("notes") ? form.elements.namedItem("notes").value : "",
      exercises: [],
      red_flags: []
    };
    if (stopped) return body;
    var seen = {};
    Array.prototype.forEach.call(form.querySelectorAll('input[name="item"]'), function (input) {
      var id = input.value;
      if (seen[id]) return;
      seen[id] = true;
      var prefix = "i" + id + "-";
      var skip = checkedValue(form, prefix + "skip");
      var entry = { program_item_id: int(id) };
      if (skip) {
        entry.skipped_reason = skip;
      } else {
        entry.sets_done = Array.prototype.map.call(
          form.querySelectorAll('input[name="' + prefix + 'set"]'),
          function (set) { return set.value.trim(); }
        ).filter(function (v) { return v !== ""; }).map(int);
        var load = fieldValue(form, prefix + "load");
        if (load !== "") entry.load = decimal(load);
        var pain = checkedValue(form, prefix + "pain");
        var effort = checkedValue(form, prefix + "effort");
        if (pain !== "") entry.pain_during = int(pain);
        if (effort !== "") entry.effort = int(effort);
      }
      body.exercises.push(entry);
    });
    ["pain_overall", "effort_overall"].forEach(function (name) {
      var value = checkedValue(form, name);
      if (value !== "") body[name] = int(value);
    });
    Array.prototype.forEach.call(form.querySelectorAll("fieldset.yes-no[id^='flag-']"), function (fieldset) {
      if (checkedValue(form, fieldset.id) === "yes") body.red_flags.push(fieldset.id.slice(5));
    });
    return body;
  }

  function doneUrl(form, id) {
    return form.getAttribute("data-done-url").replace("{id}", id);
  }

  function showSaved(signin) {
    var panel = document.querySelector("[data-outbox-saved]");
    if (!panel || !saved) return;
    var form = saved.form;
    var first = panel.hidden;
    form.hidden = true;
    var summary = document.querySelector(".error-summary");
    if (summary) summary.hidden = true;
    var title = document.querySelector(".session-title");
    if (title) title.hidden = true;
    var line = ui && ui.querySelector("[data-sync-status]");
    if (line) line.hidden = true;
    var emergency = !!form.querySelector('input[data-urgency="emergency"]:checked');
    var show = {
      offline: !signin,
      signin: !!signin,
      emergency: emergency,
      contact: saved.body.red_flags.length > 0 && !emergency,
      soreness: saved.body.warmup_soreness === "continues"
    };
    Array.prototype.forEach.call(panel.querySelectorAll("[data-saved-part]"), function (part) {
      part.hidden = !show[part.getAttribute("data-saved-part")];
    });
    panel.hidden = false;
    if (!first) return;
    window.scrollTo(0, 0);
    var heading = panel.querySelector("h1");
    if (heading) heading.focus();
  }

  function submitSession(form) {
    var performed = form.querySelector("[data-performed-at]");
    if (performed) performed.value = new Date().toISOString(); // the phone's clock, now
    var body = submissionFrom(form);
    var entry = {
      client_uuid: body.client_uuid,
      body: body,
      user_id: userId,
      queued_at: new Date().toISOString(),
      state: "waiting"
    };
    save(entry).then(function () {
      return replay();
    }).then(function (result) {
      lastResult = result;
      var outcome = result.outcomes[body.client_uuid];
      var status = outcome ? outcome.status : 0;
      if (status === 200 || status === 201) {
        window.location.assign(doneUrl(form, outcome.out.id));
        return null;
      }
      if (status === 403 || status === 404 || status === 422) {
        // The server will not take it as it is: send the form itself, whose answer shows
        // each problem beside its question.
        return forget(body.client_uuid).then(function () { form.submit(); });
      }
      saved = { uuid: body.client_uuid, form: form, body: body };
      showSaved(result.signin);
      return askForBackgroundSync().then(refreshStatus);
    }).catch(function () {
      form.submit(); // no IndexedDB here (private browsing): the plain form it is
    });
  }

  function setUpSessionForm(form) {
    // A session id is used once. A page kept on the phone for offline use carries the id of
    // a session already saved or sent: give this one its own.
    var field = form.elements.namedItem("client_uuid");
    if (field) {
      known(field.value).then(function (used) {
        if (used) field.value = newUuid();
      }).catch(function () {});
    }
    // session.js listens on the form itself and so runs first: it stamps the time, shows
    // "Saving…" and cancels a second tap (defaultPrevented), which this then leaves alone.
    document.addEventListener("submit", function (event) {
      if (event.target !== form || event.defaultPrevented) return;
      event.preventDefault();
      submitSession(form);
    });
  }

  // --- Sign-out: warn about unsent sessions, then clear this phone ----------------------------

  function pushSubscription() {
    if (!hasWorker) return Promise.resolve(null);
    return navigator.serviceWorker.getRegistration("/").then(function (reg) {
      return reg && reg.pushManager ? reg.pushManager.getSubscription() : null;
    }).catch(function () { return null; });
  }

  // The worker stops keeping pages and answers once none of its requests is in flight.
  function quietWorker() {
    if (!hasWorker) return Promise.resolve();
    return navigator.serviceWorker.getRegistration("/").then(function (reg) {
      var worker = reg && reg.active;
      if (!worker || !window.MessageChannel) return null;
      return new Promise(function (resolve) {
        var channel = new MessageChannel();
        channel.port1.onmessage = function () { resolve(); };
        worker.postMessage({ type: "hep:signing-out" }, [channel.port2]);
        setTimeout(resolve, 1500);
      });
    }).catch(function () {});
  }

  function clearThisPhone(form) {
    var steps = Promise.all([quietWorker(), replaying]).then(pushSubscription).then(function (subscription) {
      var field = form.querySelector("input[data-push-endpoint]");
      if (!subscription) return null;
      if (field) field.value = subscription.endpoint; // the server forgets this device
      return subscription.unsubscribe().catch(function () {});
    }).then(function () {
      return window.caches ? caches.keys().then(function (names) {
        return Promise.all(names.map(function (name) { return caches.delete(name); }));
      }) : null;
    }).then(function () {
      return hasStorage ? clearAll() : null;
    }).catch(function () {});
    // Never keep someone from signing out: after three seconds it goes anyway.
    var timeout = new Promise(function (resolve) { setTimeout(resolve, 3000); });
    return Promise.race([steps, timeout]);
  }

  function setUpSignOut() {
    var dialog = document.querySelector("[data-signout-dialog]");
    var pending = null;

    function signOut(form) {
      form.setAttribute("data-signing-out", "1");
      clearThisPhone(form).then(function () { form.submit(); });
    }

    // Capture phase: this runs before push.js and the form's own handlers, and stops them.
    document.addEventListener("submit", function (event) {
      var form = event.target;
      if (!form.matches || !form.matches('form[action$="/logout"]')) return;
      event.preventDefault();
      event.stopPropagation();
      if (form.getAttribute("data-signing-out")) return;
      (hasStorage ? counts(null) : Promise.resolve({ all: 0 })).catch(function () {
        return { all: 0 };
      }).then(function (c) {
        if (!c.all || !dialog || !dialog.showModal) return signOut(form);
        pending = form;
        dialog.querySelector("[data-unsent-words]").textContent = text("unsent", c.all);
        dialog.showModal();
        return null;
      });
    }, true);

    if (!dialog) return;
    dialog.addEventListener("click", function (event) {
      var button = event.target.closest("[data-dialog-action]");
      if (!button) return;
      var action = button.getAttribute("data-dialog-action");
      dialog.close();
      if (action === "sign-out" && pending) signOut(pending);
      if (action === "send" && pending) replayNow();
    });
  }

  // --- "Update available" ------------------------------------------------------------------------

  function setUpUpdates() {
    var bar = ui && ui.querySelector("[data-update]");
    if (!hasWorker || !bar) return;
    var reloading = false;
    var hadController = !!navigator.serviceWorker.controller;

    navigator.serviceWorker.addEventListener("controllerchange", function () {
      // The new version took over: reload once so the page and its files match it.
      if (!hadController || reloading) return;
      reloading = true;
      window.location.reload();
    });

    function offer(worker) {
      if (!worker || !navigator.serviceWorker.controller) return;
      bar.hidden = false;
      bar.querySelector("button").onclick = function () {
        this.disabled = true;
        worker.postMessage({ type: "SKIP_WAITING" });
      };
    }

    function watch(reg) {
      if (reg.waiting) offer(reg.waiting);
      reg.addEventListener("updatefound", function () {
        var worker = reg.installing;
        if (!worker) return;
        worker.addEventListener("statechange", function () {
          if (worker.state === "installed") offer(worker);
        });
      });
    }

    navigator.serviceWorker.register("/sw.js", { scope: "/" }).then(function (reg) {
      watch(reg);
      document.addEventListener("visibilitychange", function () {
        if (document.visibilityState === "visible") reg.update().catch(function () {});
      });
    }).catch(function () { /* no worker: pages simply need the network */ });
  }

  // --- Keep this page and its links for offline use ------------------------------------------------

  function keepForOffline() {
    if (!hasWorker || !ui || ui.getAttribute("data-role") !== "patient" || navigator.onLine === false) return;
    var here = location.pathname + location.search;
    // "/" too: where the installed app starts (the server sends a patient on to Today).
    var urls = here === "/" ? [here] : [here, "/"];
    Array.prototype.forEach.call(document.querySelectorAll("main a[href]"), function (link) {
      if (link.closest("#hep-offline")) return;
      var url = new URL(link.href, location.href);
      var path = url.pathname + url.search;
      if (url.origin !== location.origin || urls.indexOf(path) >= 0) return;
      urls.push(path); // the server says which of them may be kept (X-HEP-Offline)
    });
    navigator.serviceWorker.ready.then(function (reg) {
      if (reg.active) reg.active.postMessage({ type: "hep:keep", current: here, urls: urls });
    }).catch(function () {});
  }

  // --- Install hint (Today) ------------------------------------------------------------------------

  function setUpInstallHint() {
    var hint = document.querySelector("[data-install-hint]");
    if (!hint) return;
    var standalone = navigator.standalone === true ||
      (window.matchMedia && window.matchMedia("(display-mode: standalone)").matches);
    var dismissed = false;
    try { dismissed = localStorage.getItem("hep-install-hint") === "dismissed"; } catch (e) { /* private mode */ }
    if (standalone || dismissed) return;
    var button = hint.querySelector("[data-install-button]");
    var iosSteps = hint.querySelector("[data-install-ios]");
    var iOS = /iPad|iPhone|iPod/.test(navigator.userAgent) ||
      (navigator.platform === "MacIntel" && navigator.maxTouchPoints > 1);
    var prompt = null;

    window.addEventListener("beforeinstallprompt", function (event) {
      event.preventDefault(); // our own button, at a calm moment, instead of the browser's bar
      prompt = event;
      button.hidden = false;
      hint.hidden = false;
    });
    button.addEventListener("click", function () {
      if (!prompt) return;
      prompt.prompt();
      prompt.userChoice.then(function () { hint.hidden = true; prompt = null; });
    });
    window.addEventListener("appinstalled", function () { hint.hidden = true; });
    hint.querySelector("[data-install-dismiss]").addEventListener("click", function () {
      hint.hidden = true;
      try { localStorage.setItem("hep-install-hint", "dismissed"); } catch (e) { /* fine */ }
    });
    if (iOS) {
      iosSteps.hidden = false;
      hint.hidden = false;
    }
  }

  // --- Start -------------------------------------------------------------------------------------

  function start() {
    try {
      justSent = parseInt(sessionStorage.getItem("hep-just-sent"), 10) || 0;
      sessionStorage.removeItem("hep-just-sent");
    } catch (e) { /* private mode: no "All sent" after the reload */ }
    setUpSignOut();
    setUpUpdates();
    setUpInstallHint();
    if (hasWorker) {
      navigator.serviceWorker.addEventListener("message", function (event) {
        // This page is the copy kept on the phone, shown while the network was slow; the
        // server has since answered that it is not for whoever is signed in now.
        if (event.data && event.data.type === "hep:reload") window.location.reload();
      });
    }
    var form = document.querySelector("form[data-session]");
    if (form && hasStorage && window.Promise) setUpSessionForm(form);
    if (!ui) return;
    keepForOffline();
    showQueuedOnToday();
    refreshStatus().then(replayNow);
    window.addEventListener("online", function () { retries = 0; replayNow(); });
    window.addEventListener("offline", function () { refreshStatus(); });
    document.addEventListener("visibilitychange", function () {
      if (document.visibilityState === "visible") replayNow();
    });
    if (hasWorker) {
      navigator.serviceWorker.addEventListener("message", function (event) {
        // The worker sent the outbox (Background Sync): the same news as a replay from here.
        if (event.data && event.data.type === "hep:outbox") {
          var result = { signin: !!event.data.signin, outcomes: event.data.outcomes || {} };
          lastResult = result;
          justSent += sentCount(result);
          if (!afterSending(result)) refreshStatus();
        }
      });
    }
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})(self);
