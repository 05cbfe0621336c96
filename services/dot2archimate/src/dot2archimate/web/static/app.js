// Progressive enhancement only: the forms work without JavaScript.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  var form = document.getElementById("convert");
  if (!form) { return; }
  var file = document.getElementById("file");
  var text = document.getElementById("text");
  file.addEventListener("change", function () {
    if (file.files.length > 0) { text.value = ""; }  // the server refuses a file and text together
  });
  form.addEventListener("submit", function () {
    var button = document.getElementById("submit");
    button.disabled = true;
    button.textContent = "Converting…";
  });
});
