(function () {
  "use strict";
  // Asking before what cannot be undone: the form, or the button pressed, carries the
  // question in data-confirm. Once it is answered the `confirmed` field tells the server
  // not to ask again with its own page (moderation/web/confirm.py).
  document.addEventListener("submit", function (e) {
    var form = e.target, button = e.submitter;
    var earlier = form.querySelector("input[name=confirmed][data-js]");
    if (earlier) { earlier.parentNode.removeChild(earlier); }
    // A choice may carry its own question (the alert a duplicate joins), else the button, the form.
    var chosen = form.querySelector("input:checked[data-confirm]");
    var question = [chosen, button, form].reduce(function (found, el) {
      return found || (el && el.getAttribute("data-confirm"));
    }, null);
    if (!question) { return; }
    if (!window.confirm(question)) { e.preventDefault(); return; }
    var field = document.createElement("input");
    field.type = "hidden"; field.name = "confirmed"; field.value = "yes";
    field.setAttribute("data-js", "");
    form.appendChild(field);
  });

  // The phrase book: with JavaScript each sentence has a button adding it to its language's text.
  Array.prototype.forEach.call(document.querySelectorAll("button[data-phrase-for]"), function (b) {
    b.hidden = false;
    b.addEventListener("click", function () {
      var target = document.getElementById(b.getAttribute("data-phrase-for"));
      var before = target.value.replace(/\s+$/, "");
      target.value = (before ? before + " " : "") + b.getAttribute("data-phrase");
      target.dispatchEvent(new Event("input", { bubbles: true }));
      target.focus();
    });
  });

  // The alert composer on the review page: more regions picked by name, the live preview.
  var form = document.getElementById("composer");
  if (!form || !window.fetch) { return; }
  var panel = document.getElementById("preview");
  var publish = document.getElementById("publish");
  var csrf = form.querySelector("input[name=csrf_token]").value;
  var names = document.getElementById("region-names");
  var extra = form.elements.extra_regions;
  var timer = null;
  function values(name) {
    return Array.prototype.map.call(form.querySelectorAll("input[name=" + name + "]:checked"), function (i) { return i.value; });
  }
  function codeFor(typed) {
    var wanted = typed.trim().toLowerCase(), found = null;
    Array.prototype.forEach.call(names.options, function (o) {
      if (!found && o.value.toLowerCase() === wanted) { found = o.getAttribute("data-code"); }
    });
    return found;
  }
  extra.addEventListener("change", function () {
    var code = codeFor(extra.value);
    if (!code) { return; }
    var box = form.querySelector('input[name=regions][value="' + code + '"]');
    if (!box) {
      var label = document.createElement("label");
      box = document.createElement("input");
      box.type = "checkbox"; box.name = "regions"; box.value = code;
      label.appendChild(box);
      label.appendChild(document.createTextNode(" " + extra.value.trim()));
      document.getElementById("region-checks").appendChild(label);
    }
    box.checked = true;
    extra.value = "";
  });
  function payload() {
    var identifiers = values("identifiers").map(function (v) {
      var i = v.indexOf("|"); return { kind: v.slice(0, i), value: v.slice(i + 1) };
    });
    if (form.elements.new_value.value.trim()) {
      identifiers.push({ kind: form.elements.new_kind.value, value: form.elements.new_value.value });
    }
    var typed = codeFor(extra.value), texts = {};
    Array.prototype.forEach.call(form.querySelectorAll("textarea[name^=text_]"), function (t) {
      if (t.value.trim()) { texts[t.name.slice(5)] = t.value; }
    });
    return {
      text: form.elements.text.value, texts: texts, severity: form.elements.severity.value,
      regions: values("regions").concat(typed ? [typed] : []), categories: values("categories"), identifiers: identifiers,
      incident_date: form.dataset.incidentDate, part_of_day: form.dataset.partOfDay
    };
  }
  function subscribers(n) { return n + " subscriber" + (n === 1 ? "" : "s"); }
  function show(data) {
    var html = "";
    if (data.errors) {
      html = '<p class="error">' + data.errors.map(escape).join("<br>") + "</p>";
    } else {
      html += '<p><strong>Reaches ' + subscribers(data.recipients) + ".</strong></p>";
      if (data.needs_approval) { html += '<p class="warn">A second moderator must approve this alert before it goes out.</p>'; }
      (data.warnings || []).forEach(function (w) { html += '<p class="warn">' + escape(w) + "</p>"; });
      var fallbacks = data.fallbacks || {};
      Object.keys(data.sms).forEach(function (lang) {
        var s = data.sms[lang];
        html += '<div class="sms' + (s.too_long ? " too-long" : "") + (s.fallback ? " fallback" : "") + '" data-lang="' + lang + '"><strong>' + lang.toUpperCase() + "</strong> · " +
          s.characters + " characters · " + s.encoding + " · " + s.segments + " SMS" +
          (s.too_long ? " (more than " + data.max_segments + ")" : "") +
          (s.fallback ? '<p class="warn fallback-note">Falls back to the written text — reaches ' + subscribers(fallbacks[lang] || 0) + ".</p>" : "") +
          '<pre lang="' + lang + '">' + escape(s.text) + "</pre></div>";
      });
      // The same question as the page asks without JavaScript (review.py _publish_question).
      var missing = Object.keys(fallbacks).map(function (lang) {
        var n = fallbacks[lang];
        return lang.toUpperCase() + " (" + (n || "no") + " subscriber" + (n === 1 ? "" : "s") + ")";
      });
      publish.setAttribute("data-confirm", "Publish this alert? " + (data.needs_approval ?
        "A second moderator must approve it; then it goes to " + subscribers(data.recipients) + "." :
        "It goes out now to " + subscribers(data.recipients) + "; it cannot be unsent.") +
        (missing.length ? " " + missing.length + " language" + (missing.length === 1 ? "" : "s") +
          " without a text of their own get the written text: " + missing.join(", ") + "." : ""));
    }
    panel.innerHTML = html;
  }
  function escape(t) { var d = document.createElement("div"); d.textContent = t; return d.innerHTML; }
  function refresh() {
    fetch("/mod/preview", {
      method: "POST", credentials: "same-origin",
      headers: { "content-type": "application/json", "x-csrf-token": csrf },
      body: JSON.stringify(payload())
    }).then(function (r) { return r.json(); }).then(show).catch(function () {});
  }
  form.addEventListener("input", function () { clearTimeout(timer); timer = setTimeout(refresh, 300); });
  form.addEventListener("change", function () { clearTimeout(timer); timer = setTimeout(refresh, 100); });
})();
