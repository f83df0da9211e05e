/* ModelWatch dashboards: draw each [data-src] figure from its JSON endpoint, refresh the
 * figures and the [data-region] blocks every 30 s without a full reload, follow the
 * light/dark colour scheme. No build step: plain browser JavaScript. */
(function () {
  "use strict";
  var body = document.body;
  var refreshMs = (parseInt(body.dataset.refresh || "30", 10) || 30) * 1000;
  // On a phone the mode bar would sit on the figures' titles: no mode bar there (pinch
  // and drag still zoom).
  var narrow = window.matchMedia && window.matchMedia("(max-width: 700px)").matches;
  var config = { responsive: true, displaylogo: false, displayModeBar: narrow ? false : "hover",
    modeBarButtonsToRemove: ["lasso2d", "select2d"] };

  function cssVar(name) {
    return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
  }

  function themed(layout) {
    layout = layout || {};
    var fg = cssVar("--fg"), grid = cssVar("--grid");
    layout.font = Object.assign({}, layout.font || {}, { color: fg });
    layout.hoverlabel = Object.assign({ bgcolor: cssVar("--card"), font: { color: fg } },
      layout.hoverlabel || {});
    Object.keys(layout).forEach(function (key) {
      if (/^[xy]axis\d*$/.test(key)) {
        layout[key].gridcolor = grid;
        layout[key].linecolor = grid;
      }
    });
    layout.autosize = true;
    delete layout.width;
    return layout;
  }

  function showStatus(el, text) {
    var status = el.parentElement && el.parentElement.querySelector(".status");
    if (status) status.textContent = text;
  }

  function load(el) {
    var url = el.dataset.src;
    if (!el.dataset.state) el.dataset.state = "loading";
    return fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (response.status === 401) { window.location.reload(); return null; }
        if (!response.ok) throw new Error("HTTP " + response.status);
        return response.json();
      })
      .then(function (fig) {
        if (!fig) return;
        if (el.dataset.state !== "ready") el.textContent = "";  // a message, never a plot
        el.dataset.state = "ready";
        el._figure = fig;
        showStatus(el, "updated " + new Date().toLocaleTimeString());
        // Plotly's responsive resize lets the plot outgrow its div (it keeps the figure's
        // height but the div falls back to the CSS minimum): hold the div at that height.
        if (fig.layout && fig.layout.height) el.style.minHeight = fig.layout.height + "px";
        return Plotly.react(el, fig.data, themed(fig.layout), config).then(function () {
          if (el.dataset.figure === "drift") bindDriftClick(el);
        });
      })
      .catch(function (error) {
        if (el.dataset.state !== "ready") {
          el.dataset.state = "error";
          el.textContent = "Could not load this figure (" + error.message + ").";
        }
        showStatus(el, "refresh failed: " + error.message);
      });
  }

  function loadAll() {
    return Promise.all(Array.prototype.map.call(document.querySelectorAll("[data-src]"), load));
  }

  function refreshRegions() {
    var regions = document.querySelectorAll("[data-region]");
    if (!regions.length) return Promise.resolve();
    return fetch(window.location.href, { credentials: "same-origin" })
      .then(function (response) { return response.ok ? response.text() : null; })
      .then(function (html) {
        if (!html) return;
        var fresh = new DOMParser().parseFromString(html, "text/html");
        regions.forEach(function (region) {
          var next = fresh.querySelector('[data-region="' + region.dataset.region + '"]');
          if (next) region.innerHTML = next.innerHTML;
        });
      })
      .catch(function () { /* keep what is shown; the next tick retries */ });
  }

  function retheme() {
    document.querySelectorAll("[data-src]").forEach(function (el) {
      if (el._figure) Plotly.react(el, el._figure.data, themed(el._figure.layout), config);
    });
  }

  function bindDriftClick(el) {
    // A click on a heatmap cell (or its ×) draws that feature's reference vs current for
    // that bucket in the panel beside it, from the drift-cell endpoint.
    if (el._clickBound || !el.on) return;
    el._clickBound = true;
    el.on("plotly_click", function (event) {
      var pt = event && event.points && event.points[0];
      var panel = document.getElementById("figure-distribution");
      if (!pt || pt.y == null || pt.x == null || !panel || !panel.dataset.cellSrc) return;
      var url = new URL(panel.dataset.cellSrc, window.location.href);
      url.searchParams.set("feature", pt.y);
      url.searchParams.set("at", String(pt.x));
      panel.dataset.src = url.pathname + url.search;
      var select = document.getElementById("feature-select");
      if (select) select.value = pt.y;
      var caption = document.getElementById("cell-caption");
      if (caption) {
        caption.textContent = pt.y + " in the bucket of " + String(pt.x).slice(0, 16) + " UTC, against the " +
          "window its drift result read. Pick a feature for the whole range again.";
      }
      load(panel);
    });
  }

  function bindFeatureSelect() {
    var select = document.getElementById("feature-select");
    var figure = document.getElementById("figure-distribution");
    if (!select || !figure) return;
    figure.dataset.windowSrc = figure.dataset.src;
    select.addEventListener("change", function () {
      var url = new URL(figure.dataset.windowSrc, window.location.href);
      url.searchParams.set("feature", select.value);
      figure.dataset.src = figure.dataset.windowSrc = url.pathname + url.search;
      var page = new URL(window.location.href);
      page.searchParams.set("feature", select.value);
      window.history.replaceState(null, "", page.pathname + page.search);
      load(figure);
    });
  }

  function bindAutoSubmit() {
    // No inline handlers (the Content-Security-Policy forbids them): selects marked
    // data-autosubmit submit their form when changed.
    document.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
      select.addEventListener("change", function () { select.form.submit(); });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    bindFeatureSelect();
    bindAutoSubmit();
    window.modelwatchReady = loadAll();
    window.modelwatchRefresh = function () { return Promise.all([loadAll(), refreshRegions()]); };
    if (body.dataset.live === "1") {
      window.setInterval(function () {
        if (!document.hidden) { loadAll(); refreshRegions(); }
      }, refreshMs);
    }
    if (window.matchMedia) {
      window.matchMedia("(prefers-color-scheme: dark)").addEventListener("change", retheme);
    }
  });
})();
