/* Material for MkDocs' inline head snippet (partials/javascripts/base.html, 9.x) as a
 * file, for a script-src 'self' policy: the storage helpers its bundle calls as globals.
 * The scope (the site root) comes from this script tag's data-md-scope attribute. */
/* eslint-disable no-unused-vars */
var __md_scope = new URL(document.currentScript.getAttribute("data-md-scope"), location);
var __md_hash = function (s) { return [...s].reduce(function (h, c) { return (h << 5) - h + c.charCodeAt(0); }, 0); };
var __md_get = function (key, storage = localStorage, scope = __md_scope) {
  return JSON.parse(storage.getItem(scope.pathname + "." + key));
};
var __md_set = function (key, value, storage = localStorage, scope = __md_scope) {
  try { storage.setItem(scope.pathname + "." + key, JSON.stringify(value)); } catch { /* storage full or off */ }
};
