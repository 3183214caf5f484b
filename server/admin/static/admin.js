// stepback admin pages: live template preview and confirmation prompts.
// Loaded as a plain script (no inline JS; the pages' CSP allows only same-origin scripts).
(function () {
  "use strict";

  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }

  function showProblems(field, problems) {
    var target = document.getElementById(field.getAttribute("data-error-target"));
    if (!target) return;
    target.textContent = problems.join("; ");
    target.hidden = problems.length === 0;
    if (problems.length) field.setAttribute("aria-invalid", "true");
    else field.removeAttribute("aria-invalid");
  }

  function showPressure(box, findings) {
    var list = document.getElementById(box.id + "-pressure");
    if (!list) return;
    list.textContent = "";
    findings.forEach(function (f) {
      var item = document.createElement("li");
      item.textContent = "\u201c" + f.text + "\u201d: " + f.why + " " + f.suggestion;
      list.appendChild(item);
    });
  }

  function wirePreview(form) {
    var url = form.getAttribute("data-preview-url");
    var play = form.getAttribute("data-play");
    form.querySelectorAll("textarea[data-preview-target]").forEach(function (field) {
      var box = document.getElementById(field.getAttribute("data-preview-target"));
      var timer = null;
      var seq = 0;
      function refresh() {
        var mine = ++seq;
        fetch(url, {
          method: "POST",
          credentials: "same-origin",
          headers: { "Content-Type": "application/json", "Accept": "application/json",
                     "X-CSRF-Token": csrfToken() },
          body: JSON.stringify({ play: play, body: field.value })
        }).then(function (resp) {
          return resp.json().then(function (data) { return { ok: resp.ok, data: data }; });
        }).then(function (result) {
          if (mine !== seq) return; // a newer keystroke already asked again
          if (!result.ok) {
            var message = result.data && result.data.error ? result.data.error.message : "Preview failed.";
            showProblems(field, [message]);
            return;
          }
          // textContent, never innerHTML: the preview is plain text.
          box.textContent = result.data.text;
          box.setAttribute("data-rendered", String(mine));
          showProblems(field, result.data.problems);
          showPressure(box, result.data.pressure || []);
        }).catch(function () {
          showProblems(field, ["The preview could not be reached; your text is still here."]);
        });
      }
      field.addEventListener("input", function () {
        clearTimeout(timer);
        timer = setTimeout(refresh, 200);
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("form.template-form").forEach(wirePreview);
    document.querySelectorAll("form[data-confirm]").forEach(function (form) {
      form.addEventListener("submit", function (event) {
        if (!window.confirm(form.getAttribute("data-confirm"))) event.preventDefault();
      });
    });
  });
})();
