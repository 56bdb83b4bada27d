/* Material for MkDocs' inline after-content snippet (partials/javascripts/content.html,
 * 9.x) as a file: a #hash naming a tab of a tabbed block opens that tab. */
(function () {
  "use strict";
  var target = document.getElementById(location.hash.slice(1));
  if (target && target.name) target.checked = target.name.startsWith("__tabbed_");
})();
