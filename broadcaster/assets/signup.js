/* broadcaster sign-up form: <div id="broadcast-signup"></div> and
   <script src="https://YOUR-BROADCASTER/signup.js" defer></script>.
   The form posts to broadcaster; style it with your own CSS (.broadcast-signup). */
(function () {
  "use strict";
  var html = /*FORM_HTML*/"";
  var script = document.currentScript;
  function mount() {
    if (!html) return;
    var host = document.getElementById("broadcast-signup");
    if (!host) {
      host = document.createElement("div");
      host.id = "broadcast-signup";
      if (script && script.parentNode && script.parentNode !== document.head) {
        script.parentNode.insertBefore(host, script.nextSibling);
      } else {
        document.body.appendChild(host);
      }
    }
    if (host.getAttribute("data-broadcast-mounted")) return;
    host.setAttribute("data-broadcast-mounted", "1");
    host.innerHTML = html;
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", mount);
  } else {
    mount();
  }
})();
