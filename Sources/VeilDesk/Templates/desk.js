// Keyboard shortcuts, and nothing else: every action is a plain form or link without it.
"use strict";
document.addEventListener("keydown", function (event) {
  if (event.ctrlKey || event.metaKey || event.altKey) return;
  var target = event.target;
  if (target && /^(INPUT|SELECT|TEXTAREA)$/.test(target.tagName)) {
    if (event.key === "Escape") target.blur();
    return;
  }
  function press(id) {
    var element = document.getElementById(id);
    if (!element) return;
    event.preventDefault();
    element.click();
  }
  function focus(id) {
    var element = document.getElementById(id);
    if (!element) return;
    event.preventDefault();
    element.focus();
  }
  switch (event.key) {
    case "c": press("confirm"); break;
    case "r": press("reject"); break;
    case "d": focus("detail"); break;
    case "v": focus("reveal-reason"); break;
    case "n": press("next"); break;
    case "p": press("previous"); break;
  }
});
