// The filter box completes what it can: field names of the filter language, and the
// workspace's tag keys, metric names and property keys after `tags.`, `metrics.` and
// `properties.`; status values after `status =`. No build step.
// Arrow keys choose, Tab or Enter takes one, Escape closes the list.
(function () {
  "use strict";

  const MAX_SHOWN = 8;
  let names = null;
  let loading = null;
  let active = -1;
  let shown = [];

  function input() { return document.getElementById("id_filter"); }
  function list() { return document.getElementById("filter-completions"); }

  function load(box) {
    if (names || loading || !box.dataset.namesUrl) return loading;
    loading = fetch(box.dataset.namesUrl, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (json) { names = json || { fields: [], tags: [], metrics: [], properties: [], statuses: [] }; })
      .catch(function () { names = { fields: [], tags: [], metrics: [], properties: [], statuses: [] }; });
    return loading;
  }

  // Keys with other characters than a plain name's are written in backticks.
  function quoted(prefix, key) {
    return prefix + (/^[A-Za-z0-9_\-\/]+$/.test(key) ? key : "`" + key + "`");
  }

  function candidates(text) {
    // A status value: `status = 'Ru` or `status in ('Fa`.
    const value = /\bstatus\s*(?:!=|=|in\s*\(|not\s+in\s*\()[^)]*'([A-Za-z]*)$/i.exec(text);
    const inQuotes = (text.match(/'/g) || []).length % 2 === 1;
    if (value && inQuotes) {
      return {
        start: text.length - value[1].length,
        items: names.statuses.filter(function (s) { return s.toLowerCase().startsWith(value[1].toLowerCase()); })
          .map(function (s) { return { label: s, insert: s + "'" }; }),
      };
    }
    const word = /(?:children\.)?[A-Za-z_][A-Za-z0-9_.\-\/`]*$/.exec(text);
    if (!word) return null;
    const token = word[0];
    const start = text.length - token.length;
    // Not inside a quoted value.
    if ((text.slice(0, start).match(/'/g) || []).length % 2) return null;
    const lower = token.toLowerCase();
    const all = [];
    names.fields.forEach(function (f) { all.push(f); });
    [["tags.", names.tags], ["metrics.", names.metrics], ["properties.", names.properties]].forEach(function (pair) {
      all.push(pair[0]);
      pair[1].forEach(function (key) { all.push(quoted(pair[0], key)); });
    });
    const children = lower.startsWith("children.") ? "children." : "";
    const rest = lower.slice(children.length);
    const items = all
      .filter(function (name) { return name !== "children." || !children; })
      .filter(function (name) { return name.toLowerCase().startsWith(rest) && name.toLowerCase() !== rest; })
      .map(function (name) { return { label: children + name, insert: children + name }; });
    return { start: start, items: items };
  }

  function close() {
    const ul = list();
    const box = input();
    if (ul) { ul.hidden = true; ul.innerHTML = ""; }
    if (box) { box.setAttribute("aria-expanded", "false"); box.removeAttribute("aria-activedescendant"); }
    shown = [];
    active = -1;
  }

  function render(found) {
    const ul = list();
    const box = input();
    if (!found || !found.items.length) { close(); return; }
    shown = found.items.slice(0, MAX_SHOWN).map(function (item) { return Object.assign({ start: found.start }, item); });
    ul.innerHTML = "";
    shown.forEach(function (item, i) {
      const li = document.createElement("li");
      li.id = "filter-completion-" + i;
      li.setAttribute("role", "option");
      li.className = "completion";
      li.textContent = item.label;
      li.addEventListener("mousedown", function (event) { event.preventDefault(); take(i); });
      ul.appendChild(li);
    });
    active = 0;
    mark();
    ul.hidden = false;
    box.setAttribute("aria-expanded", "true");
  }

  function mark() {
    const box = input();
    list().querySelectorAll("[role=option]").forEach(function (li, i) {
      li.setAttribute("aria-selected", i === active ? "true" : "false");
    });
    if (active >= 0) box.setAttribute("aria-activedescendant", "filter-completion-" + active);
  }

  function take(i) {
    const box = input();
    const item = shown[i];
    if (!item) return;
    const caret = box.selectionStart;
    const before = box.value.slice(0, item.start) + item.insert;
    // A prefix (`tags.`) goes on completing; a whole name gets a space after it.
    const space = /\.$/.test(item.insert) || box.value.slice(caret).startsWith(" ") ? "" : " ";
    box.value = before + space + box.value.slice(caret);
    const at = before.length + space.length;
    box.setSelectionRange(at, at);
    close();
    if (/\.$/.test(item.insert)) suggest();
  }

  function suggest() {
    const box = input();
    if (!box || !names) return;
    if (box.selectionStart !== box.selectionEnd) { close(); return; }
    render(candidates(box.value.slice(0, box.selectionStart)));
  }

  document.addEventListener("focusin", function (event) {
    if (event.target === input()) load(event.target);
  });
  document.addEventListener("input", function (event) {
    const box = input();
    if (event.target !== box) return;
    const pending = load(box);
    if (names) suggest(); else if (pending) pending.then(suggest);
  });
  document.addEventListener("keydown", function (event) {
    const box = input();
    if (event.target !== box || !shown.length) return;
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      active = (active + (event.key === "ArrowDown" ? 1 : shown.length - 1)) % shown.length;
      mark();
    } else if (event.key === "Tab" || event.key === "Enter") {
      event.preventDefault();
      event.stopPropagation();
      take(active);
    } else if (event.key === "Escape") {
      event.preventDefault();
      event.stopPropagation();
      close();
    }
  }, true);
  document.addEventListener("focusout", function (event) {
    if (event.target === input()) close();
  });
})();
