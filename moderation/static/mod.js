(function () {
  "use strict";
  var form = document.getElementById("composer");
  if (!form || !window.fetch) { return; }
  var panel = document.getElementById("preview");
  var csrf = form.querySelector("input[name=csrf_token]").value;
  var timer = null;
  function values(name) {
    return Array.prototype.map.call(form.querySelectorAll("input[name=" + name + "]:checked"), function (i) { return i.value; });
  }
  function payload() {
    var extra = (form.elements.extra_regions.value || "").split(/[\s,;]+/).filter(Boolean);
    var identifiers = values("identifiers").map(function (v) {
      var i = v.indexOf("|"); return { kind: v.slice(0, i), value: v.slice(i + 1) };
    });
    if (form.elements.new_value.value.trim()) {
      identifiers.push({ kind: form.elements.new_kind.value, value: form.elements.new_value.value });
    }
    return {
      text: form.elements.text.value, severity: form.elements.severity.value,
      regions: values("regions").concat(extra), categories: values("categories"), identifiers: identifiers,
      incident_date: form.dataset.incidentDate, part_of_day: form.dataset.partOfDay
    };
  }
  function show(data) {
    var html = "";
    if (data.errors) {
      html = '<p class="error">' + data.errors.map(escape).join("<br>") + "</p>";
    } else {
      html += '<p><strong>Reaches ' + data.recipients + " subscriber" + (data.recipients === 1 ? "" : "s") + ".</strong></p>";
      if (data.needs_approval) { html += '<p class="warn">A second moderator must approve this alert before it goes out.</p>'; }
      (data.warnings || []).forEach(function (w) { html += '<p class="warn">' + escape(w) + "</p>"; });
      Object.keys(data.sms).forEach(function (lang) {
        var s = data.sms[lang];
        html += '<div class="sms' + (s.too_long ? " too-long" : "") + '" data-lang="' + lang + '"><strong>' + lang.toUpperCase() + "</strong> · " +
          s.characters + " characters · " + s.encoding + " · " + s.segments + " SMS" +
          (s.too_long ? " (more than " + data.max_segments + ")" : "") + "<pre>" + escape(s.text) + "</pre></div>";
      });
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
  Array.prototype.forEach.call(document.querySelectorAll("form[data-confirm]"), function (f) {
    f.addEventListener("submit", function (e) { if (!window.confirm(f.dataset.confirm)) { e.preventDefault(); } });
  });
})();
