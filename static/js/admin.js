// Admin panel: show the short toasts the server sends in an HX-Trigger header
// ({"toast": "Saved"}), since inline scripts are not allowed by the CSP.
document.addEventListener("toast", function (ev) {
  var box = document.getElementById("toasts");
  if (!box || !ev.detail || !ev.detail.value) return;
  var t = document.createElement("div");
  t.className = "toast";
  t.setAttribute("role", "status");
  t.textContent = ev.detail.value;
  box.appendChild(t);
  setTimeout(function () { t.remove(); }, 4000);
});

// Copy buttons: <button data-copy="#input-id"> copies that input's value.
document.addEventListener("click", function (ev) {
  var btn = ev.target.closest && ev.target.closest("[data-copy]");
  if (!btn) return;
  var src = document.querySelector(btn.getAttribute("data-copy"));
  if (!src) return;
  var done = function () {
    document.dispatchEvent(new CustomEvent("toast", { detail: { value: "Link copied" } }));
  };
  if (navigator.clipboard && window.isSecureContext) {
    navigator.clipboard.writeText(src.value).then(done, function () { src.select(); });
  } else {
    src.select();
    try { if (document.execCommand("copy")) done(); } catch (e) { /* the text stays selected to copy by hand */ }
  }
});

// A confirmed htmx action inside <details class="confirm"> closes its confirmation.
document.addEventListener("htmx:afterRequest", function (ev) {
  var d = ev.target.closest && ev.target.closest("details.confirm");
  if (d) d.open = false;
});
