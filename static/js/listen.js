// The fan's platform, remembered in this browser only (localStorage: no
// cookie, nothing sent anywhere): set when the fan picks a platform on the
// pre-save page or taps a button on the smart link, and used to put that
// platform's button first. The page itself stays the same for everyone.
(function () {
  'use strict';
  var KEY = 'dropday.platform';

  function get() { try { return localStorage.getItem(KEY); } catch (e) { return null; } }
  function set(v) { try { if (v) { localStorage.setItem(KEY, v); } } catch (e) { /* private mode */ } }

  function reorder() {
    var list = document.querySelector('[data-listen]');
    var pref = get();
    if (!list || !pref) { return; }
    var items = list.children;
    for (var i = 0; i < items.length; i++) {
      if (items[i].getAttribute('data-platform') === pref) {
        items[i].classList.add('preferred');
        if (i > 0) { list.insertBefore(items[i], list.firstElementChild); }
        return;
      }
    }
  }

  document.addEventListener('click', function (e) {
    var el = e.target.closest && e.target.closest('[data-remember]');
    if (el) { set(el.getAttribute('data-remember')); }
  });
  document.addEventListener('change', function (e) {
    if (e.target.matches && e.target.matches('.platform-radio')) { set(e.target.value); }
  });

  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', reorder);
  } else {
    reorder();
  }
})();
