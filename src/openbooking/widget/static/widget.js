/* OpenBooking embed: <script src="https://booking.example/widget.js" data-form="1"></script>
   Adds a "Book" button that opens the booking form in an overlay, or, with data-mode="inline",
   the form itself in place. The frame's height follows its content (postMessage). */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script) return;
  var form = script.getAttribute("data-form");
  if (!/^[0-9]+$/.test(form || "")) return;
  var origin = new URL(script.src, location.href).origin;
  var mode = script.getAttribute("data-mode") || "button";
  var label = script.getAttribute("data-label") || "Book online";
  var lang = script.getAttribute("data-lang");
  var src = origin + "/b/" + form + (lang ? "?lang=" + encodeURIComponent(lang) : "");

  var onClose = null;

  function frame() {
    var iframe = document.createElement("iframe");
    iframe.src = src;
    iframe.title = script.getAttribute("data-title") || label;
    iframe.setAttribute("referrerpolicy", "no-referrer");
    iframe.style.cssText = "width:100%;border:0;display:block;min-height:480px;";
    window.addEventListener("message", function (event) {
      var data = event.data;
      if (event.origin !== origin || event.source !== iframe.contentWindow) return;
      if (data && data.openbooking === "height" && typeof data.height === "number") {
        iframe.style.height = Math.min(Math.max(data.height, 200), 20000) + "px";
      }
      if (data && data.openbooking === "close" && typeof onClose === "function") onClose();
    });
    return iframe;
  }

  if (mode === "inline") {
    script.parentNode.insertBefore(frame(), script.nextSibling);
    return;
  }
  var button = document.createElement("button");
  button.type = "button";
  button.textContent = label;
  button.className = "openbooking-button";
  button.style.cssText = "font:inherit;padding:12px 20px;border-radius:8px;border:0;" +
    "background:#2e7d32;color:#fff;cursor:pointer;";
  var overlay = null;
  function close() {
    if (!overlay) return;
    overlay.remove();
    overlay = null;
    onClose = null;
    document.removeEventListener("keydown", onKey);
    button.focus();
  }
  function onKey(event) {
    if (event.key === "Escape") close();
  }
  button.addEventListener("click", function () {
    overlay = document.createElement("div");
    overlay.setAttribute("role", "dialog");
    overlay.setAttribute("aria-modal", "true");
    overlay.setAttribute("aria-label", label);
    overlay.style.cssText = "position:fixed;inset:0;background:rgba(0,0,0,.55);z-index:2147483646;" +
      "overflow:auto;padding:16px 8px;";
    var box = document.createElement("div");
    box.style.cssText = "max-width:760px;margin:0 auto;background:#fff;border-radius:10px;" +
      "position:relative;";
    var shut = document.createElement("button");
    shut.type = "button";
    shut.textContent = "\u00d7";
    shut.setAttribute("aria-label", "Close");
    shut.style.cssText = "position:absolute;right:4px;top:4px;font-size:24px;width:44px;" +
      "height:44px;border:0;background:#fff;border-radius:22px;cursor:pointer;z-index:1;";
    shut.addEventListener("click", close);
    overlay.addEventListener("click", function (event) {
      if (event.target === overlay) close();
    });
    box.appendChild(shut);
    box.appendChild(frame());
    overlay.appendChild(box);
    document.body.appendChild(overlay);
    document.addEventListener("keydown", onKey);
    onClose = close;
    shut.focus();
  });
  script.parentNode.insertBefore(button, script.nextSibling);
})();
