/* Filters, search, copy buttons and print support. The page reads fully without this. */
(function () {
  "use strict";
  var root = document.documentElement;
  root.classList.add("js");

  function byId(id) { return document.getElementById(id); }
  var findings = Array.prototype.slice.call(document.querySelectorAll("li.finding"));
  // What the search box matches: the summary line, the rule and origin, and the evidence.
  var searchable = findings.map(function (item) {
    return Array.prototype.map.call(
      item.querySelectorAll("summary, .about, pre.evidence"),
      function (part) { return part.textContent; }
    ).join(" ").toLowerCase();
  });
  var containers = Array.prototype.slice.call(document.querySelectorAll("details.group, details.ns"));
  var controls = {
    severity: byId("filter-severity"),
    rule: byId("filter-rule"),
    namespace: byId("filter-namespace"),
    search: byId("filter-search")
  };
  var count = byId("filter-count");
  var filters = byId("filters");
  // Open narrowed results only when few enough to read; thousands stay collapsed.
  var OPEN_LIMIT = 200;
  // The severity filter is a minimum, as --min-severity is.
  var RANK = {info: 0, low: 1, medium: 2, high: 3, critical: 4};
  function atLeast(severity, minimum) { return RANK[severity] >= RANK[minimum]; }

  function apply() {
    var severity = controls.severity.value;
    var rule = controls.rule.value;
    var namespace = controls.namespace.value;
    var words = controls.search.value.trim().toLowerCase().split(/\s+/).filter(Boolean);
    var active = Boolean(severity || rule || namespace || words.length);
    var shown = 0;
    findings.forEach(function (item, index) {
      var data = item.dataset;
      var visible = (!severity || atLeast(data.severity, severity)) &&
        (!rule || data.rule === rule) &&
        (!namespace || data.ns === namespace) &&
        words.every(function (word) { return searchable[index].indexOf(word) !== -1; });
      item.hidden = !visible;
      if (visible) { shown += 1; }
    });
    containers.forEach(function (box) {
      var any = box.querySelector("li.finding:not([hidden])") !== null;
      box.hidden = active && !any;
      if (active && any && shown <= OPEN_LIMIT) { box.open = true; }
    });
    count.textContent = active
      ? "Showing " + shown + " of " + findings.length + " findings"
      : findings.length + " findings";
  }

  var pending = null;
  function applySoon() {
    if (pending !== null) { window.clearTimeout(pending); }
    pending = window.setTimeout(function () { pending = null; apply(); }, 120);
  }

  function setAll(open) {
    containers.concat(Array.prototype.slice.call(document.querySelectorAll("li.finding > details")))
      .forEach(function (box) { if (!box.hidden) { box.open = open; } });
  }

  if (filters && controls.severity) {
    filters.hidden = false;
    controls.severity.addEventListener("change", apply);
    controls.rule.addEventListener("change", apply);
    controls.namespace.addEventListener("change", apply);
    controls.search.addEventListener("input", applySoon);
    byId("filter-reset").addEventListener("click", function () {
      controls.severity.value = "";
      controls.rule.value = "";
      controls.namespace.value = "";
      controls.search.value = "";
      apply();
    });
    byId("expand-all").addEventListener("click", function () { setAll(true); });
    byId("collapse-all").addEventListener("click", function () { setAll(false); });
    apply();
  }

  // Copy buttons: the Clipboard API where allowed, else a selection and execCommand.
  document.addEventListener("click", function (event) {
    var button = event.target.closest ? event.target.closest("button.copy") : null;
    if (!button) { return; }
    var source = byId(button.getAttribute("data-copy"));
    if (!source) { return; }
    var text = source.textContent;
    function done(ok) {
      button.textContent = ok ? "Copied" : "Select and copy";
      window.setTimeout(function () { button.textContent = "Copy"; }, 1500);
    }
    function fallback() {
      var range = document.createRange();
      range.selectNodeContents(source);
      var selection = window.getSelection();
      selection.removeAllRanges();
      selection.addRange(range);
      var ok = false;
      try { ok = document.execCommand("copy"); } catch (ignored) { ok = false; }
      done(ok);
    }
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(function () { done(true); }, fallback);
    } else {
      fallback();
    }
  });

  // A link to a finding opens the sections around it.
  function reveal() {
    var id = decodeURIComponent(window.location.hash.slice(1));
    var target = id ? byId(id) : null;
    for (var node = target; node; node = node.parentElement) {
      if (node.tagName === "DETAILS") { node.open = true; }
    }
    if (target) { target.scrollIntoView(); }
  }
  window.addEventListener("hashchange", reveal);
  if (window.location.hash) { reveal(); }

  // Printing shows everything that is not filtered out, then restores the page.
  var closedBeforePrint = [];
  window.addEventListener("beforeprint", function () {
    closedBeforePrint = Array.prototype.slice.call(document.querySelectorAll("details:not([open])"));
    closedBeforePrint.forEach(function (box) { box.open = true; });
  });
  window.addEventListener("afterprint", function () {
    closedBeforePrint.forEach(function (box) { box.open = false; });
    closedBeforePrint = [];
  });
}());
