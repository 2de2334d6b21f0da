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
  var summary = document.getElementById("error-summary");
  if (summary) { summary.focus(); }
})();
