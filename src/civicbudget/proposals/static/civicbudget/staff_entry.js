// Keyboard-only entry of paper proposals: Enter in the text area saves (Shift+Enter for a
// new line), so one hand stays on the keys; the cursor starts where typing starts.
(function () {
  var text = document.getElementById("id_text");
  var community = document.getElementById("id_community");
  var form = document.getElementById("entry");
  if (!text || !form) { return; }
  text.addEventListener("keydown", function (e) {
    if (e.key === "Enter" && !e.shiftKey) { e.preventDefault(); form.requestSubmit(); }
  });
  if (community && community.value) { text.focus(); } else if (community) { community.focus(); }
})();
