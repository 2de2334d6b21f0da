(function () {
  "use strict";
  var exit = document.getElementById("quick-exit");
  function leave(event) {
    if (event) { event.preventDefault(); }
    document.title = "";
    document.body.innerHTML = "";
    window.location.replace(exit.href);
  }
  exit.addEventListener("click", leave);
  var presses = 0, last = 0;
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") { return; }
    var now = Date.now();
    presses = now - last < 1500 ? presses + 1 : 1;
    last = now;
    if (presses >= 2) { leave(); }
  });
  var forms = document.querySelectorAll("form[data-once]");
  Array.prototype.forEach.call(forms, function (form) {
    form.addEventListener("submit", function () {
      var button = form.querySelector("button[type=submit]");
      if (button) { button.disabled = true; button.setAttribute("aria-busy", "true"); }
    });
  });
  // The receipt code: one tap copies it (without JavaScript a tap selects all of it).
  var copy = document.getElementById("copy-code");
  if (copy && navigator.clipboard) {
    copy.parentNode.hidden = false;
    copy.addEventListener("click", function () {
      var code = document.getElementById("receipt-code").textContent.trim();
      navigator.clipboard.writeText(code).then(function () {
        copy.textContent = copy.getAttribute("data-copied");
      });
    });
  }
  // Sign-up: only the chosen channel's field shows (without JavaScript both do).
  var boxes = document.querySelectorAll("[data-channel]");
  var picks = document.querySelectorAll("input[type=radio][name=channel]");
  function showChosen() {
    Array.prototype.forEach.call(boxes, function (box) {
      var pick = document.querySelector("input[name=channel][value=" + box.getAttribute("data-channel") + "]");
      box.hidden = Boolean(pick) && !pick.checked;
    });
  }
  if (boxes.length && picks.length) {
    Array.prototype.forEach.call(picks, function (pick) { pick.addEventListener("change", showChosen); });
    showChosen();
  }
  // Push: this browser's own subscription, made when the form is sent with the push choice
  // and sent with it (without JavaScript the choice says that it needs JavaScript).
  var pushBox = document.getElementById("push");
  var canPush = "serviceWorker" in navigator && "PushManager" in window && "Notification" in window;
  function keyBytes(text) {
    var raw = atob(text.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((text.length + 3) % 4));
    var bytes = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i++) { bytes[i] = raw.charCodeAt(i); }
    return bytes;
  }
  function sameKey(buffer, bytes) {
    var had = buffer ? new Uint8Array(buffer) : new Uint8Array(0);
    if (had.length !== bytes.length) { return false; }
    for (var i = 0; i < had.length; i++) { if (had[i] !== bytes[i]) { return false; } }
    return true;
  }
  if (pushBox) {
    var pushStatus = document.getElementById("push-status");
    var pushField = document.getElementById("push-subscription");
    var pushForm = pushBox.closest("form");
    pushStatus.textContent = pushBox.getAttribute(canPush ? "data-hint" : "data-unsupported");
    pushForm.addEventListener("submit", function (event) {
      var pick = pushForm.querySelector("input[name=channel][value=push]");
      var hidden = pushForm.querySelector("input[type=hidden][name=channel]");
      var chosen = pick ? pick.checked : Boolean(hidden) && hidden.value === "push";
      if (!chosen || pushField.value) { return; }
      event.preventDefault();
      function refused(reason) {
        pushStatus.textContent = pushBox.getAttribute(reason);
        var button = pushForm.querySelector("button[type=submit]");
        if (button) { button.disabled = false; button.removeAttribute("aria-busy"); }
      }
      if (!canPush) { refused("data-unsupported"); return; }
      Notification.requestPermission().then(function (permission) {
        if (permission !== "granted") { throw new Error("denied"); }
        return navigator.serviceWorker.register("/sw.js").then(function () {
          return navigator.serviceWorker.ready;
        });
      }).then(function (registration) {
        var key = keyBytes(pushBox.getAttribute("data-key"));
        // A subscription made with another key (the site's keys were changed) is of no
        // use, and the browser refuses a new one beside it: it goes first.
        return registration.pushManager.getSubscription().then(function (old) {
          return old && !sameKey(old.options.applicationServerKey, key) ? old.unsubscribe() : null;
        }).then(function () {
          return registration.pushManager.subscribe({userVisibleOnly: true, applicationServerKey: key});
        });
      }).then(function (subscription) {
        pushField.value = JSON.stringify(subscription);
        pushForm.submit();
      }).catch(function (problem) {
        refused(problem && problem.message === "denied" ? "data-denied" : "data-failed");
      });
    });
  }
  // "Stop notifications on this phone": shown when this browser has a push subscription.
  var pushLeave = document.getElementById("push-leave");
  if (pushLeave && canPush) {
    var worker = null;
    navigator.serviceWorker.getRegistration().then(function (registration) {
      worker = registration || null;
      return registration ? registration.pushManager.getSubscription() : null;
    }).then(function (subscription) {
      if (!subscription) { return; }
      pushLeave.elements.endpoint.value = subscription.endpoint;
      pushLeave.hidden = false;
      pushLeave.addEventListener("submit", function (event) {
        event.preventDefault();
        // Nothing of ours stays in the browser: not the subscription, not the worker.
        subscription.unsubscribe().then(function () {
          return worker.unregister();
        }).catch(function () { return false; }).then(function () {
          pushLeave.submit();
        });
      });
    }).catch(function () { return null; });
  }
  var summary = document.getElementById("error-summary");
  if (summary) { summary.focus(); }
})();
