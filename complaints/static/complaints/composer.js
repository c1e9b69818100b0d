// The reply composer: a canned response (filled for this ticket by the server) goes into
// the text box; an internal note carries no status block, so its part is hidden then.
(function () {
  "use strict";
  var form = document.getElementById("reply-form");
  if (!form) { return; }
  var body = document.getElementById("reply-body");
  var canned = document.getElementById("canned-response");
  var statusPart = document.getElementById("status-block-part");
  if (canned) {
    canned.addEventListener("change", function () {
      var option = canned.options[canned.selectedIndex];
      if (!option || !option.dataset.text) { return; }
      body.value = body.value ? body.value + "\n\n" + option.dataset.text : option.dataset.text;
      canned.selectedIndex = 0;
      body.focus();
    });
  }
  form.addEventListener("change", function (event) {
    if (event.target.name === "mode") {
      statusPart.hidden = event.target.value === "note";
    }
  });
})();
