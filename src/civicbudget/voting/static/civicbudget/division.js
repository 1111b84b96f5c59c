// The theme-division ballot: the running total of the percentages, and the cast button held
// back until they make exactly 100. The server refuses any other total; without this script
// the form works the same.
(function () {
  document.querySelectorAll("form[data-division]").forEach(function (form) {
    var live = form.querySelector(".division-live");
    var button = form.querySelector("button[type=submit]");
    var inputs = form.querySelectorAll("input[type=number]");
    function update() {
      var total = 0;
      inputs.forEach(function (input) {
        var n = parseInt(input.value || "0", 10);
        total += (isNaN(n) || n < 0) ? 0 : n;
      });
      live.querySelector(".total").textContent = String(total);
      live.querySelector(".short").hidden = total === 100;
      button.disabled = total !== 100;
    }
    form.addEventListener("input", update);
    form.addEventListener("submit", function (event) {
      update();
      if (button.disabled) { event.preventDefault(); }
    });
    update();
  });
})();
