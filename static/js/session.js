// The guided session: turns the one long session form into one step at a time, with a big
// timer (sound and vibration where the phone allows) and +/- set counters. Without this file
// the form still works as one page.
(function () {
  "use strict";

  var audio = null;

  function beep(times) {
    try {
      var Context = window.AudioContext || window.webkitAudioContext;
      if (!Context) return;
      audio = audio || new Context();
      for (var i = 0; i < times; i++) {
        var start = audio.currentTime + i * 0.35;
        var osc = audio.createOscillator();
        var gain = audio.createGain();
        osc.frequency.value = 880;
        gain.gain.setValueAtTime(0.001, start);
        gain.gain.exponentialRampToValueAtTime(0.6, start + 0.02);
        gain.gain.exponentialRampToValueAtTime(0.001, start + 0.25);
        osc.connect(gain).connect(audio.destination);
        osc.start(start);
        osc.stop(start + 0.3);
      }
    } catch (e) { /* no sound on this phone: the screen and vibration still tell */ }
  }

  function buzz() {
    if (navigator.vibrate) navigator.vibrate([300, 120, 300, 120, 300]);
  }

  function clock(seconds) {
    var s = Math.max(0, Math.ceil(seconds));
    var m = Math.floor(s / 60);
    s = s % 60;
    return m + ":" + (s < 10 ? "0" : "") + s;
  }

  // --- Timer -----------------------------------------------------------------------------

  function setUpTimer(box) {
    var total = parseInt(box.getAttribute("data-seconds"), 10) || 0;
    var display = box.querySelector("[data-timer-display]");
    var status = box.querySelector("[data-timer-status]");
    var startButton = box.querySelector("[data-timer-start]");
    var resetButton = box.querySelector("[data-timer-reset]");
    var remaining = total;
    var endsAt = null;
    var tick = null;

    function show() {
      display.textContent = clock(remaining);
    }

    function label(name) {
      startButton.textContent = startButton.getAttribute("data-label-" + name);
    }

    function stop() {
      if (tick) window.clearInterval(tick);
      tick = null;
      endsAt = null;
    }

    function finish() {
      stop();
      remaining = 0;
      show();
      box.classList.add("timer-finished");
      label("done");
      status.textContent = startButton.textContent;
      beep(3);
      buzz();
    }

    startButton.addEventListener("click", function () {
      beep(0); // unlock sound on this tap: phones allow audio only after a touch
      if (tick) {
        remaining = (endsAt - Date.now()) / 1000;
        stop();
        label("start");
        return;
      }
      if (remaining <= 0) remaining = total;
      box.classList.remove("timer-finished");
      endsAt = Date.now() + remaining * 1000;
      label("pause");
      status.textContent = "";
      tick = window.setInterval(function () {
        remaining = (endsAt - Date.now()) / 1000;
        if (remaining <= 0) finish();
        else show();
      }, 200);
    });

    resetButton.addEventListener("click", function () {
      stop();
      remaining = total;
      box.classList.remove("timer-finished");
      label("start");
      show();
    });

    box.hidden = false;
  }

  // --- Counters --------------------------------------------------------------------------

  function setUpCounter(button) {
    var input = document.getElementById(button.getAttribute("data-counter"));
    var by = parseInt(button.getAttribute("data-by"), 10) || 1;
    button.hidden = false;
    button.addEventListener("click", function () {
      var value = parseInt(input.value, 10);
      if (isNaN(value)) value = 0;
      value = Math.min(parseInt(input.max, 10) || 500, Math.max(0, value + by));
      input.value = value;
      input.dispatchEvent(new Event("change", { bubbles: true }));
    });
  }

  // --- Stepper ---------------------------------------------------------------------------

  function checked(form, name) {
    var input = form.querySelector('input[name="' + name + '"]:checked');
    return input ? input.value : null;
  }

  function setUpStepper(form) {
    var steps = Array.prototype.slice.call(form.querySelectorAll("[data-step]"));
    var progress = form.querySelector("[data-progress]");
    var current = 0;

    function skipped(step) {
      var item = step.getAttribute("data-item");
      return step.getAttribute("data-step") === "feel" && !!checked(form, "i" + item + "-skip");
    }

    function show(index, focus) {
      current = index;
      steps.forEach(function (step, i) { step.hidden = i !== index; });
      var visible = steps.filter(function (step) { return !skipped(step); });
      progress.textContent = progress.getAttribute("data-template")
        .replace("{n}", visible.indexOf(steps[index]) + 1)
        .replace("{total}", visible.length);
      if (focus !== false) {
        var heading = steps[index].querySelector("h2");
        window.scrollTo(0, 0);
        if (heading) heading.focus();
      }
    }

    function missing(step) {
      // The answers a step needs before moving on (the server checks them again).
      var names = [];
      var kind = step.getAttribute("data-step");
      var item = step.getAttribute("data-item");
      if (kind === "warmup") names = ["warmup_soreness"];
      if (kind === "feel") names = ["i" + item + "-pain", "i" + item + "-effort"];
      if (kind === "flags") {
        names = Array.prototype.map.call(step.querySelectorAll("fieldset.yes-no"), function (f) {
          return f.id;
        });
      }
      return names.filter(function (name) { return checked(form, name) === null; });
    }

    function flagMissing(step, names) {
      step.querySelectorAll(".js-error").forEach(function (el) { el.remove(); });
      step.querySelectorAll(".field-error.js-marked").forEach(function (el) {
        el.classList.remove("field-error", "js-marked");
      });
      names.forEach(function (name) {
        var fieldset = document.getElementById(name);
        if (!fieldset) return;
        var message = document.createElement("p");
        message.className = "error-message js-error";
        message.textContent = form.getAttribute("data-missing");
        fieldset.classList.add("field-error", "js-marked");
        fieldset.querySelector("legend").insertAdjacentElement("afterend", message);
      });
      if (names.length) {
        var first = document.getElementById(names[0]);
        first.scrollIntoView({ block: "start" });
        var input = first.querySelector("input");
        if (input) input.focus();
      }
    }

    function anyRedFlag() {
      return !!form.querySelector('input[data-urgency]:checked');
    }

    function next() {
      var step = steps[current];
      var kind = step.getAttribute("data-step");
      var gaps = missing(step);
      flagMissing(step, gaps);
      if (gaps.length) return;
      if (kind === "warmup" && checked(form, "warmup_soreness") === "continues") return submit();
      if (kind === "flags" && anyRedFlag()) return submit();
      var index = current + 1;
      while (index < steps.length && skipped(steps[index])) index++;
      if (index < steps.length) show(index);
    }

    function back() {
      var index = current - 1;
      while (index > 0 && skipped(steps[index])) index--;
      if (index >= 0) show(index);
    }

    function submit() {
      if (form.requestSubmit) form.requestSubmit();
      else form.submit();
    }

    form.querySelectorAll("[data-nav]").forEach(function (nav) { nav.hidden = false; });
    form.querySelectorAll("[data-next]").forEach(function (b) { b.addEventListener("click", next); });
    form.querySelectorAll("[data-back]").forEach(function (b) { b.addEventListener("click", back); });

    // Coming back with errors: open the step of the first one; summary links open theirs.
    function stepOf(id) {
      var target = document.getElementById(id);
      for (var i = 0; target && i < steps.length; i++) if (steps[i].contains(target)) return i;
      return -1;
    }
    var firstError = form.querySelector(".field-error");
    var errorId = firstError && (firstError.id || (firstError.querySelector("[id]") || {}).id);
    var start = errorId ? stepOf(errorId) : 0;
    progress.hidden = false;
    show(Math.max(0, start), false);
    document.querySelectorAll(".error-summary a[href^='#']").forEach(function (link) {
      link.addEventListener("click", function () {
        var index = stepOf(link.getAttribute("href").slice(1));
        if (index >= 0) show(index, false);
      });
    });
    form.setAttribute("data-stepper", "on"); // one step at a time from here (tests wait for it)
  }

  // --- Warnings that show as soon as an answer is chosen -------------------------------------

  function setUpWarnings(form) {
    form.addEventListener("change", function (event) {
      var input = event.target;
      var answered = input.closest(".js-marked");
      if (answered) {
        answered.classList.remove("field-error", "js-marked");
        answered.querySelectorAll(".js-error").forEach(function (el) { el.remove(); });
      }
      var fieldset = input.closest("[data-warn-above]");
      if (fieldset) {
        var limit = parseInt(fieldset.getAttribute("data-warn-above"), 10);
        var warning = fieldset.querySelector("[data-warning]");
        if (warning) warning.hidden = !(parseInt(input.value, 10) > limit);
      }
      if (input.name === "warmup_soreness") {
        var stop = form.querySelector("[data-soreness-stop]");
        if (stop) stop.hidden = input.value !== "continues";
      }
      if (input.name && input.name.indexOf("flag-") === 0) {
        var urgent = form.querySelector('input[data-urgency="emergency"]:checked');
        var any = form.querySelector("input[data-urgency]:checked");
        form.querySelector('[data-guidance="emergency"]').hidden = !urgent;
        form.querySelector('[data-guidance="contact"]').hidden = !any || !!urgent;
      }
      if (input.name && /-skip$/.test(input.name)) {
        var details = input.closest("details");
        if (details && !input.value) details.open = false;
      }
    });
  }

  function setUpSubmit(form) {
    var sent = false;
    form.addEventListener("submit", function (event) {
      if (sent) {
        event.preventDefault(); // a second tap: the first is on its way
        return;
      }
      sent = true;
      form.querySelector("[data-performed-at]").value = new Date().toISOString();
      form.querySelectorAll("[data-finish]").forEach(function (button) {
        button.setAttribute("aria-disabled", "true");
        button.textContent = button.getAttribute("data-label-busy");
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var form = document.querySelector("form[data-session]");
    if (!form) return;
    document.querySelectorAll("[data-timer]").forEach(setUpTimer);
    document.querySelectorAll("[data-counter]").forEach(setUpCounter);
    setUpWarnings(form);
    setUpSubmit(form);
    setUpStepper(form);
  });
})();
