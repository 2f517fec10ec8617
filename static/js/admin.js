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
