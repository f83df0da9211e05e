/* The rule form's "Preview" button: POST the form as filled in to the admin's preview
 * endpoint (alerts_app/admin_preview.py), then say in words how often the rule would have
 * fired and draw the replay with the app's own plotly.js. Nothing is saved. Plain
 * browser JavaScript, no inline script (the CSP allows only files). */
(function () {
  "use strict";

  function setup() {
    var box = document.getElementById("mw-preview");
    var button = document.getElementById("mw-preview-button");
    if (!box || !button) return;
    var form = box.closest("form");
    var words = document.getElementById("mw-preview-words");
    var chart = document.getElementById("mw-preview-chart");
    var errors = document.getElementById("mw-preview-errors");
    var status = document.getElementById("mw-preview-status");

    function showErrors(found) {
      errors.textContent = "";
      Object.keys(found || {}).forEach(function (field) {
        found[field].forEach(function (message) {
          var item = document.createElement("li");
          item.textContent = field + ": " + message;
          errors.appendChild(item);
        });
      });
      errors.hidden = !errors.children.length;
    }

    function draw(answer) {
      words.textContent = "This rule " + answer.summary + ".";
      chart.classList.add("drawn");
      box.dataset.evaluations = answer.evaluations;
      box.dataset.firings = answer.firings.length;
      return Plotly.react(chart, answer.figure.data, answer.figure.layout,
        { responsive: true, displaylogo: false });
    }

    button.addEventListener("click", function () {
      var data = new FormData(form);
      if (box.dataset.rule) data.append("rule_id", box.dataset.rule);
      button.disabled = true;
      box.dataset.state = "loading";
      status.textContent = "Replaying…";
      showErrors(null);
      fetch(box.dataset.url, {
        method: "POST",
        body: data,
        credentials: "same-origin",
        headers: { Accept: "application/json", "X-CSRFToken": data.get("csrfmiddlewaretoken") }
      })
        .then(function (response) {
          return response.json().then(function (body) { return { ok: response.ok, body: body }; });
        })
        .then(function (reply) {
          if (!reply.ok) {
            words.textContent = "";
            showErrors(reply.body.errors || { Preview: ["failed"] });
            box.dataset.state = "error";
            return null;
          }
          return draw(reply.body).then(function () { box.dataset.state = "ready"; });
        })
        .catch(function (error) {
          showErrors({ Preview: [error.message] });
          box.dataset.state = "error";
        })
        .then(function () {
          button.disabled = false;
          status.textContent = "";
        });
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", setup);
  else setup();
})();
