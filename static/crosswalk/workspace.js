// The workspace's keyboard: every control in #task with data-key="k" (or "w 2": a prefix key, then a number)
// answers to that key. Text boxes keep their keys; Esc leaves them, Ctrl+Enter submits from them.
(function () {
  "use strict";
  let pending = null; // a prefix key (w, h) waiting for its number
  const started = new WeakMap(); // form -> when it was shown, for time spent

  function taskRoot() { return document.getElementById("task"); }
  function taskForm() { const r = taskRoot(); return r && r.querySelector("form.task-form"); }

  function markShown() {
    const form = taskForm();
    if (form && !started.has(form)) started.set(form, performance.now());
  }
  document.addEventListener("DOMContentLoaded", markShown);
  document.addEventListener("htmx:load", markShown);
  document.addEventListener("htmx:afterSwap", function () {
    pending = null;
    const r = taskRoot();
    if (r) r.focus({ preventScroll: false }); // keys go to the new task, not a vanished button
  });

  // Time spent goes with the answer (the server bounds it by the lease's age).
  document.addEventListener("submit", function (e) {
    const form = e.target;
    if (!form.matches || !form.matches("form.task-form")) return;
    const t0 = started.get(form);
    const input = form.querySelector("input[name=time_spent_ms]");
    if (t0 !== undefined && input) input.value = String(Math.round(performance.now() - t0));
  }, true);

  function isTyping(el) {
    return el && el.matches && el.matches("textarea, select, input[type=text], input[type=search], input:not([type])");
  }

  document.addEventListener("keydown", function (e) {
    const root = taskRoot();
    if (!root || e.isComposing) return;
    if (isTyping(e.target)) {
      if (e.key === "Escape") { e.target.blur(); e.preventDefault(); }
      else if (e.key === "Enter" && (e.ctrlKey || e.metaKey) && e.target.form) { e.preventDefault(); e.target.form.requestSubmit(); }
      return;
    }
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    if (e.key === "Enter") {
      const form = taskForm();
      if (form && !(e.target.matches && e.target.matches("button, a"))) { e.preventDefault(); form.requestSubmit(); }
      return;
    }
    // Digits by physical key, so Shift or a non-Latin keyboard layout still gives 1..9.
    let key = /^Digit\d$/.test(e.code) ? e.code.slice(5) : e.key.toLowerCase();
    if (!pending && root.querySelector('[data-key^="' + CSS.escape(key) + ' "]')) {
      pending = key;
      e.preventDefault();
      return;
    }
    const combo = pending ? pending + " " + key : key;
    pending = null;
    const el = root.querySelector('[data-key="' + CSS.escape(combo) + '"]');
    if (!el) return;
    e.preventDefault();
    if (isTyping(el)) el.focus(); else el.click();
  });
})();
