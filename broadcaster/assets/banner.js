/*!
 * broadcaster website banner.
 *
 * Served as /notices/banner.js; a website includes it with one deferred script
 * tag (src="/notices/banner.js" defer). Keep this file free of closing script
 * tags and HTML comment openers, so that it also works when inlined.
 *
 * This file is a template: the Python side replaces the data placeholder below
 * (it must appear exactly once in this file) with a script-safe JSON object:
 *   {"generated_at": "...",
 *    "languages": [{"lang": "en", "name": "English"}, ...],  (the default first)
 *    "notices": [{"id", "kind", "start", "end", "text", "html", "lang",
 *                 "texts": {"en": {"text", "html"}, "zh": {...}, ...}}]}
 * A notice shows while start <= Date.now() < end. "html" is a trusted, already
 * escaped fragment; "text" is plain text used only when "html" is missing. The
 * top-level "text" and "html" are in the notice's "lang" (the site's default):
 * data written before languages has only those, and is shown as it is.
 *
 * The language shown is the one the visitor chose with the language switch
 * (remembered in localStorage), else the first of navigator.languages whose
 * primary subtag (zh of zh-CN) is one of the site's languages, else the default.
 * A notice not written in that language shows in its default language; each
 * text carries its lang attribute.
 *
 * Self-contained, ES2017, no dependencies. The only global it defines is
 * window.broadcasterBanner = { refresh: function () {...} }.
 */
(function () {
  "use strict";

  var DATA = /*BANNER_DATA*/null;

  var STORAGE_KEY = "broadcaster.dismissed";
  var LANGUAGE_KEY = "broadcaster.language";
  var HOST_ID = "broadcast-banner";
  var REFRESH_MS = 60 * 1000;
  var MAX_REMEMBERED = 200;

  var CSS = [
    ".broadcast-banner{box-sizing:border-box;width:100%;margin:0;padding:0;",
    "font:inherit;font-size:1rem;line-height:1.5;}",
    ".broadcast-banner *,.broadcast-banner *::before,.broadcast-banner *::after{box-sizing:inherit;}",
    ".broadcast-notice{display:flex;align-items:flex-start;gap:.75rem;margin:0;",
    "padding:.75rem 1rem;background:#fff3c4;color:#1a1a1a;",
    "border-bottom:3px solid #b45309;}",
    ".broadcast-notice-body{flex:1 1 auto;min-width:0;overflow-wrap:anywhere;}",
    ".broadcast-notice-body>:first-child{margin-top:0;}",
    ".broadcast-notice-body>:last-child{margin-bottom:0;}",
    ".broadcast-notice-body a{color:#0b3d91;text-decoration:underline;}",
    ".broadcast-dismiss{flex:0 0 auto;margin:-.25rem -.25rem -.25rem auto;",
    "min-width:2.5rem;min-height:2.5rem;padding:0 .5rem;border:2px solid transparent;",
    "border-radius:4px;background:transparent;color:#1a1a1a;font:inherit;",
    "font-size:1.5rem;line-height:1;cursor:pointer;}",
    ".broadcast-dismiss:hover{background:rgba(0,0,0,.08);}",
    ".broadcast-dismiss:focus-visible{outline:3px solid #0b3d91;outline-offset:1px;}",
    ".broadcast-languages{display:flex;flex-wrap:wrap;justify-content:flex-end;gap:.375rem;",
    "margin:0;padding:.375rem 1rem;background:#fff3c4;color:#1a1a1a;",
    "border-bottom:3px solid #b45309;}",
    ".broadcast-language{min-width:2.5rem;min-height:2rem;padding:0 .625rem;",
    "border:1px solid #b45309;border-radius:4px;background:#fff;color:#1a1a1a;",
    "font:inherit;font-size:.875rem;line-height:1;cursor:pointer;}",
    ".broadcast-language[aria-pressed=true]{background:#b45309;color:#fff;}",
    ".broadcast-language:focus-visible{outline:3px solid #0b3d91;outline-offset:1px;}",
    "@media (max-width:480px){.broadcast-notice{padding:.5rem .75rem;font-size:.9375rem;}",
    ".broadcast-languages{padding:.25rem .75rem;}}",
    "@media print{.broadcast-dismiss,.broadcast-languages{display:none;}}"
  ].join("");

  function warn(message, error) {
    try {
      if (typeof console !== "undefined" && console.warn) {
        console.warn("broadcaster banner: " + message, error === undefined ? "" : error);
      }
    } catch (e) {
      /* nothing sensible left to do */
    }
  }

  function isNonEmptyString(value) {
    return typeof value === "string" && value.length > 0;
  }

  /* Returns epoch milliseconds, -Infinity/Infinity for an open bound, or NaN. */
  function parseBound(value, open) {
    if (value === null || value === undefined) {
      return open;
    }
    if (typeof value !== "string") {
      return NaN;
    }
    return Date.parse(value);
  }

  /* Validates the data; returns a list of notices, or null when it is unusable. */
  function readNotices(data) {
    if (data === null || data === undefined) {
      return null; /* template not filled in: nothing to show */
    }
    if (typeof data !== "object" || Array.isArray(data) || !Array.isArray(data.notices)) {
      warn("ignoring malformed data");
      return null;
    }
    var notices = [];
    var seen = Object.create(null);
    for (var i = 0; i < data.notices.length; i++) {
      var n = data.notices[i];
      if (!n || typeof n !== "object" || !isNonEmptyString(n.id)) {
        warn("skipping malformed notice at index " + i);
        continue;
      }
      if (seen[n.id]) {
        continue; /* each id once, the first entry wins */
      }
      var start = parseBound(n.start, -Infinity);
      var end = parseBound(n.end, Infinity);
      var texts = readTexts(n);
      if (isNaN(start) || isNaN(end) || !texts) {
        warn("skipping malformed notice " + JSON.stringify(n.id));
        continue;
      }
      seen[n.id] = true;
      notices.push({
        id: n.id,
        kind: typeof n.kind === "string" ? n.kind : "",
        start: start,
        end: end,
        texts: texts.byLang,
        fallback: texts.fallback
      });
    }
    return notices;
  }

  /* lang -> {html, text} for each language a notice is written in; its own "text" and
     "html" are in its "lang" (its default), which is also its fallback. Null: none. */
  function readTexts(n) {
    var byLang = Object.create(null);
    var order = [];
    function add(lang, t) {
      if (!t || typeof t !== "object" || byLang[lang]) {
        return;
      }
      var hasHtml = typeof t.html === "string";
      if (!hasHtml && typeof t.text !== "string") {
        return;
      }
      byLang[lang] = {
        html: hasHtml ? t.html : null,
        text: typeof t.text === "string" ? t.text : ""
      };
      order.push(lang);
    }
    add(isNonEmptyString(n.lang) ? n.lang : "", n);
    if (n.texts && typeof n.texts === "object" && !Array.isArray(n.texts)) {
      Object.keys(n.texts).forEach(function (lang) {
        if (isNonEmptyString(lang)) {
          add(lang, n.texts[lang]);
        }
      });
    }
    return order.length ? { byLang: byLang, fallback: order[0] } : null;
  }

  /* The site's languages, [{lang, name}], the default first; [] in older data. */
  function readLanguages(data) {
    var found = [];
    var seen = Object.create(null);
    var list = Array.isArray(data.languages) ? data.languages : [];
    for (var i = 0; i < list.length; i++) {
      var l = list[i];
      if (l && typeof l === "object" && isNonEmptyString(l.lang) && !seen[l.lang]) {
        seen[l.lang] = true;
        found.push({ lang: l.lang, name: isNonEmptyString(l.name) ? l.name : l.lang });
      }
    }
    return found;
  }

  /* ---- the language shown: chosen, else the browser's, else the default ---- */

  var languages = [];
  var language = "";
  var chosenInMemory = null;

  function primarySubtag(tag) {
    return String(tag).split("-")[0].toLowerCase();
  }

  /* The site's language for a BCP 47 tag: the same tag, else the same primary subtag. */
  function siteLanguage(tag) {
    if (!isNonEmptyString(tag)) {
      return null;
    }
    var i;
    for (i = 0; i < languages.length; i++) {
      if (languages[i].lang.toLowerCase() === tag.toLowerCase()) {
        return languages[i].lang;
      }
    }
    for (i = 0; i < languages.length; i++) {
      if (primarySubtag(languages[i].lang) === primarySubtag(tag)) {
        return languages[i].lang;
      }
    }
    return null;
  }

  function browserLanguages() {
    try {
      var list = navigator.languages && navigator.languages.length
        ? navigator.languages
        : [navigator.language];
      return Array.prototype.slice.call(list);
    } catch (e) {
      return [];
    }
  }

  function chooseLanguage() {
    var chosen = chosenInMemory;
    try {
      chosen = window.localStorage.getItem(LANGUAGE_KEY) || chosen;
    } catch (e) {
      /* storage disabled: this page's choice only */
    }
    var found = siteLanguage(chosen);
    var preferred = browserLanguages();
    for (var i = 0; !found && i < preferred.length; i++) {
      found = siteLanguage(preferred[i]);
    }
    return found || (languages.length ? languages[0].lang : "");
  }

  function rememberLanguage(lang) {
    chosenInMemory = lang;
    try {
      window.localStorage.setItem(LANGUAGE_KEY, lang);
    } catch (e) {
      /* storage unavailable or full: remembered for this page only */
    }
  }

  /* ---- dismissed ids: localStorage when available, memory always ---- */

  var dismissedInMemory = Object.create(null);

  function loadDismissed() {
    var ids = [];
    try {
      var raw = window.localStorage.getItem(STORAGE_KEY);
      var parsed = raw ? JSON.parse(raw) : [];
      if (Array.isArray(parsed)) {
        ids = parsed.filter(isNonEmptyString);
      }
    } catch (e) {
      /* storage disabled, blocked or corrupt: memory only */
    }
    for (var i = 0; i < ids.length; i++) {
      dismissedInMemory[ids[i]] = true;
    }
    return dismissedInMemory;
  }

  function rememberDismissed(id) {
    dismissedInMemory[id] = true;
    try {
      var ids = [];
      var raw = window.localStorage.getItem(STORAGE_KEY);
      var parsed = raw ? JSON.parse(raw) : [];
      if (Array.isArray(parsed)) {
        ids = parsed.filter(function (x) {
          return isNonEmptyString(x) && x !== id;
        });
      }
      ids.push(id);
      if (ids.length > MAX_REMEMBERED) {
        ids = ids.slice(ids.length - MAX_REMEMBERED);
      }
      window.localStorage.setItem(STORAGE_KEY, JSON.stringify(ids));
    } catch (e) {
      /* storage unavailable or full: the notice stays dismissed for this page only */
    }
  }

  /* ---- DOM ---- */

  var container = null;
  var switcher = null; /* the language switch, last in the container */
  var rendered = Object.create(null); /* id -> element */

  function injectStyle() {
    if (document.querySelector("style[data-broadcaster]")) {
      return;
    }
    var style = document.createElement("style");
    style.setAttribute("data-broadcaster", "");
    style.textContent = CSS;
    /* first in <head>, so that any site stylesheet overrides these defaults */
    var head = document.head || document.getElementsByTagName("head")[0];
    if (head) {
      head.insertBefore(style, head.firstChild);
    } else if (document.body) {
      document.body.insertBefore(style, document.body.firstChild);
    }
  }

  function ensureContainer() {
    if (!container) {
      container = document.createElement("div");
      container.className = "broadcast-banner";
      container.setAttribute("role", "region");
      container.setAttribute("aria-label", "Notices");
    }
    if (!container.parentNode) {
      var host = document.getElementById(HOST_ID);
      if (host) {
        host.appendChild(container);
      } else if (document.body) {
        document.body.insertBefore(container, document.body.firstChild);
      } else {
        return null;
      }
    }
    return container;
  }

  function buildNotice(notice) {
    var el = document.createElement("div");
    el.className = "broadcast-notice";
    el.setAttribute("data-notice-id", notice.id);
    if (notice.kind) {
      el.setAttribute("data-notice-kind", notice.kind);
    }
    var body = document.createElement("div");
    body.className = "broadcast-notice-body";
    fillBody(body, notice);
    var button = document.createElement("button");
    button.type = "button";
    button.className = "broadcast-dismiss";
    button.setAttribute("aria-label", "Dismiss");
    button.textContent = "\u00d7";
    button.addEventListener("click", function () {
      try {
        dismiss(notice.id);
      } catch (e) {
        warn("dismiss failed", e);
      }
    });
    el.appendChild(body);
    el.appendChild(button);
    return el;
  }

  /* The notice in the language shown (else its default), marked with its lang. */
  function fillBody(body, notice) {
    var lang = notice.texts[language] ? language : notice.fallback;
    var text = notice.texts[lang];
    if (text.html !== null) {
      body.innerHTML = text.html; /* trusted, server-escaped fragment */
    } else {
      var p = document.createElement("p");
      p.textContent = text.text;
      body.textContent = "";
      body.appendChild(p);
    }
    if (lang) {
      body.setAttribute("lang", lang);
    } else {
      body.removeAttribute("lang");
    }
  }

  /* Buttons named in their own language; the one shown is pressed. Native buttons:
     Tab reaches each, Enter and Space press it. */
  function buildSwitch() {
    var group = document.createElement("div");
    group.className = "broadcast-languages";
    group.setAttribute("role", "group");
    group.setAttribute("aria-label", "Language");
    languages.forEach(function (l) {
      var button = document.createElement("button");
      button.type = "button";
      button.className = "broadcast-language";
      button.setAttribute("lang", l.lang);
      button.setAttribute("data-lang", l.lang);
      button.textContent = l.name;
      button.addEventListener("click", function () {
        try {
          rememberLanguage(l.lang);
          showLanguage(l.lang);
        } catch (e) {
          warn("switching language failed", e);
        }
      });
      group.appendChild(button);
    });
    return group;
  }

  function showLanguage(lang) {
    language = lang;
    var byId = Object.create(null);
    notices.forEach(function (n) {
      byId[n.id] = n;
    });
    Object.keys(rendered).forEach(function (id) {
      fillBody(rendered[id].querySelector(".broadcast-notice-body"), byId[id]);
    });
    if (switcher) {
      var buttons = switcher.querySelectorAll(".broadcast-language");
      for (var i = 0; i < buttons.length; i++) {
        var pressed = buttons[i].getAttribute("data-lang") === language;
        buttons[i].setAttribute("aria-pressed", pressed ? "true" : "false");
      }
    }
  }

  function removeNotice(id) {
    var el = rendered[id];
    delete rendered[id];
    if (el && el.parentNode) {
      el.parentNode.removeChild(el);
    }
  }

  function dismiss(id) {
    rememberDismissed(id);
    var el = rendered[id];
    var hadFocus = !!(el && document.activeElement && el.contains(document.activeElement));
    var after = el ? el.nextElementSibling : null;
    var next = after && after !== switcher ? after : el ? el.previousElementSibling : null;
    removeNotice(id);
    if (hadFocus && next) {
      var nextButton = next.querySelector(".broadcast-dismiss");
      if (nextButton) {
        nextButton.focus();
      }
    }
    tidyContainer();
  }

  function tidyContainer() {
    if (container && container.parentNode && Object.keys(rendered).length === 0) {
      container.parentNode.removeChild(container);
    }
  }

  /* ---- evaluation ---- */

  var notices = null;

  function refresh() {
    try {
      if (!notices || !document.body) {
        return;
      }
      var now = Date.now();
      var dismissed = loadDismissed();
      var wanted = notices.filter(function (n) {
        return n.start <= now && now < n.end && !dismissed[n.id];
      });
      var keep = Object.create(null);
      wanted.forEach(function (n) {
        keep[n.id] = true;
      });
      Object.keys(rendered).forEach(function (id) {
        if (!keep[id]) {
          removeNotice(id);
        }
      });
      if (wanted.length > 0) {
        injectStyle();
        var box = ensureContainer();
        if (!box) {
          return;
        }
        /* place the wanted notices in data order, reusing existing elements */
        for (var i = 0; i < wanted.length; i++) {
          var el = rendered[wanted[i].id];
          if (!el) {
            el = rendered[wanted[i].id] = buildNotice(wanted[i]);
          }
          var current = box.children[i] || null;
          if (current !== el) {
            box.insertBefore(el, current);
          }
        }
        if (languages.length > 1) {
          if (!switcher) {
            switcher = buildSwitch();
            showLanguage(language);
          }
          if (box.lastChild !== switcher) {
            box.appendChild(switcher);
          }
        }
      }
      tidyContainer();
    } catch (e) {
      warn("refresh failed", e);
    }
  }

  function start() {
    try {
      refresh();
      window.setInterval(refresh, REFRESH_MS);
      document.addEventListener("visibilitychange", function () {
        if (document.visibilityState !== "hidden") {
          refresh();
        }
      });
      window.addEventListener("pageshow", function (event) {
        if (event.persisted) {
          refresh(); /* restored from the back/forward cache */
        }
      });
    } catch (e) {
      warn("failed to start", e);
    }
  }

  try {
    notices = readNotices(DATA);
    if (!notices) {
      return;
    }
    languages = readLanguages(DATA);
    language = chooseLanguage();
    if (window.broadcasterBanner && window.broadcasterBanner.__broadcaster) {
      return; /* script included twice: the first copy already runs */
    }
    var api = { refresh: refresh };
    Object.defineProperty(api, "__broadcaster", { value: true });
    window.broadcasterBanner = api;
    if (document.readyState === "loading") {
      document.addEventListener("DOMContentLoaded", start);
    } else {
      start();
    }
  } catch (e) {
    warn("failed to initialise", e);
  }
})();
