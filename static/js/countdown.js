// The landing page's few lines of behaviour: the countdown, the release
// moment in the fan's own time, the inline email step and the share button.
// The page works without this file; it only makes it nicer.
(function () {
  'use strict';

  var SECOND = 1000, MINUTE = 60 * SECOND, HOUR = 60 * MINUTE, DAY = 24 * HOUR;

  function pad(n) { return n < 10 ? '0' + n : String(n); }

  // "Fri 5 Dec, 00:00": the words in English like the page, the clock in the fan's own style.
  function moment(d) {
    var day = new Intl.DateTimeFormat('en-GB', { weekday: 'short', day: 'numeric', month: 'short' }).format(d);
    var time = d.toLocaleTimeString([], { hour: 'numeric', minute: '2-digit' });
    return day.replace(',', '') + ', ' + time;
  }

  function startCountdown() {
    var box = document.querySelector('[data-countdown]');
    var when = document.querySelector('[data-release-time]');
    var el = box || when;
    if (!el) { return; }
    var release = Date.parse(el.getAttribute(box ? 'data-release' : 'datetime'));
    if (isNaN(release)) { return; }
    if (when) {
      when.textContent = (box ? 'Out ' : 'Released ') + moment(new Date(release)) + ' your time';
    }
    if (!box) { return; }
    var nums = {};
    box.querySelectorAll('[data-unit]').forEach(function (el) { nums[el.getAttribute('data-unit')] = el; });

    function set(el, text, animate) {
      if (!el || el.textContent === text) { return; }
      el.textContent = text;
      if (animate) {
        // Restart the CSS tick animation (prefers-reduced-motion turns it off in CSS).
        el.classList.remove('tick');
        void el.offsetWidth;
        el.classList.add('tick');
      }
    }

    function tick() {
      var left = release - Date.now();
      if (left <= 0) {
        box.hidden = true;
        var out = document.querySelector('.out-now');
        if (out) { out.hidden = false; }
        if (when) { when.textContent = 'Released ' + moment(new Date(release)) + ' your time'; }
        return;
      }
      set(nums.d, pad(Math.floor(left / DAY)));
      set(nums.h, pad(Math.floor(left % DAY / HOUR)));
      set(nums.m, pad(Math.floor(left % HOUR / MINUTE)));
      set(nums.s, pad(Math.floor(left % MINUTE / SECOND)), true);
      // Wake just after the next whole second, so the digits never skip.
      setTimeout(tick, left % SECOND + 20);
    }
    tick();
  }

  // The email step follows the platform the fan chose, so the field opens
  // right where they tapped (without JavaScript it waits under the list).
  var pointer = false;
  document.addEventListener('pointerdown', function (e) {
    pointer = !!(e.target.closest && e.target.closest('.platform-btn'));
  });
  document.addEventListener('change', function (e) {
    var radio = e.target;
    if (!radio.matches || !radio.matches('.platform-radio')) { return; }
    var step = radio.form && radio.form.querySelector('[data-email-step]');
    var label = radio.form && radio.form.querySelector('label[for="' + radio.id + '"]');
    if (!step || !label) { return; }
    if (label.nextElementSibling !== step) { label.after(step); }
    step.classList.add('open');
    var email = step.querySelector('input[type=email]');
    // Focus the field after a tap; arrow keys keep moving through the platforms.
    if (pointer && email) {
      email.focus({ preventScroll: true });
    }
    pointer = false;
    step.scrollIntoView({ block: 'nearest', behavior: matchMedia('(prefers-reduced-motion: reduce)').matches ? 'auto' : 'smooth' });
  });

  // Share: the phone's share sheet where there is one, otherwise copy the link.
  document.addEventListener('click', function (e) {
    var btn = e.target.closest && e.target.closest('[data-share]');
    if (!btn) { return; }
    var url = btn.href, title = btn.getAttribute('data-share-title') || document.title;
    if (navigator.share) {
      e.preventDefault();
      navigator.share({ title: title, url: url }).catch(function () {});
    } else if (navigator.clipboard && window.isSecureContext) {
      e.preventDefault();
      navigator.clipboard.writeText(url).then(function () {
        var label = btn.querySelector('span');
        if (label) { label.textContent = 'Link copied'; }
      });
    }
  });

  // A failed request (server error, lost connection) must not look like nothing happened.
  function formError(e, msg) {
    var form = e.detail && e.detail.elt && e.detail.elt.closest && e.detail.elt.closest('form.signup');
    if (!form) { return; }
    var p = form.querySelector('.form-error');
    if (!p) {
      p = document.createElement('p');
      p.className = 'form-error';
      p.setAttribute('role', 'alert');
      form.prepend(p);
    }
    p.textContent = msg;
  }
  document.addEventListener('htmx:responseError', function (e) {
    formError(e, 'Something went wrong on our side. Please try again in a moment.');
  });
  document.addEventListener('htmx:sendError', function (e) {
    formError(e, 'We could not reach the server. Check your connection and try again.');
  });

  // After htmx swaps the confirmation in, move focus to it so screen readers
  // and keyboards land on the answer.
  document.addEventListener('htmx:afterSwap', function () {
    var done = document.querySelector('[data-testid=signup-done]');
    if (done) { done.focus({ preventScroll: true }); }
  });

  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', startCountdown);
  } else {
    startCountdown();
  }
  // Other moments on fan pages (the pre-save confirmation), in the fan's own time.
  document.querySelectorAll('[data-local-time]').forEach(function (el) {
    var t = Date.parse(el.getAttribute('datetime'));
    if (!isNaN(t)) { el.textContent = moment(new Date(t)) + ' your time'; }
  });
  // In-app browsers (Instagram, TikTok, Facebook) often break platform logins:
  // say so next to the pre-save buttons. Done here, not on the server, so the
  // page stays the same for every visitor.
  var inapp = document.querySelector('[data-inapp]');
  if (inapp && /Instagram|FBAN|FBAV|FB_IAB|TikTok|musical_ly|Bytedance|Snapchat/i.test(navigator.userAgent)) {
    inapp.hidden = false;
  }
})();
