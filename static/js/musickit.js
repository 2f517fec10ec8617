// Apple Music's pre-add runs in the page. When the fan presses an in-page
// button (data-inpage), ask dropday for a one-time state and the developer
// token, load MusicKit JS (only now), let it authorize, and post the Music
// User Token with the state; dropday answers where the confirmation is.
(function () {
  "use strict";
  var loading = null;

  function loadMusicKit(src) {
    if (window.MusicKit) { return Promise.resolve(); }
    if (!loading) {
      loading = new Promise(function (resolve, reject) {
        var s = document.createElement("script");
        s.src = src;
        s.async = true;
        s.onload = function () { resolve(); };
        s.onerror = function () { loading = null; reject(new Error("Apple Music could not be reached. Check your connection and try again.")); };
        document.head.appendChild(s);
      });
    }
    return loading;
  }

  function statusOf(form) {
    // The smart link's Save form sits in a row: its message goes under the row.
    var host = form.closest(".listen-item") || form;
    var p = host.querySelector("[data-inpage-status]");
    if (!p) {
      p = document.createElement("p");
      p.className = "inpage-status";
      p.setAttribute("role", "status");
      p.setAttribute("data-inpage-status", "");
      host.appendChild(p);
    }
    return p;
  }

  function say(form, msg, bad) {
    var p = statusOf(form);
    p.textContent = msg;
    p.hidden = !msg;
    p.classList.toggle("inpage-error", !!bad);
  }

  function answer(r) {
    return r.json().catch(function () { return {}; }).then(function (j) {
      if (!r.ok) { throw new Error(j.error || j.message || "Something went wrong, so nothing was saved. Please try again."); }
      return j;
    });
  }

  document.addEventListener("click", function (ev) {
    var btn = ev.target.closest ? ev.target.closest("button[data-inpage]") : null;
    if (!btn || !btn.form) { return; }
    ev.preventDefault();
    if (btn.disabled) { return; }
    var form = btn.form;
    var name = btn.querySelector("strong") ? btn.querySelector("strong").textContent : "Apple Music";
    btn.disabled = true;
    say(form, "Waiting for " + name + "…", false);
    var start;
    fetch(btn.getAttribute("formaction") || form.getAttribute("action"), {
      method: "POST", credentials: "same-origin",
      headers: { "Accept": "application/json" },
      body: new URLSearchParams(new FormData(form))
    }).then(answer).then(function (s) {
      start = s;
      return loadMusicKit(s.musicKitURL);
    }).then(function () {
      return window.MusicKit.configure({ developerToken: start.developerToken, app: { name: start.app, build: "1" } });
    }).then(function () {
      return window.MusicKit.getInstance().authorize().catch(function () {
        throw new Error("You didn't give dropday access to " + name + ", so nothing was saved. Try again, or get an email when it's out.");
      });
    }).then(function (token) {
      return fetch(start.tokenURL, {
        method: "POST", credentials: "same-origin",
        headers: { "Accept": "application/json" },
        body: new URLSearchParams({ state: start.state, music_user_token: token })
      }).then(answer);
    }).then(function (done) {
      window.location.assign(done.location);
    }).catch(function (err) {
      btn.disabled = false;
      say(form, err.message, true);
    });
  });
})();
