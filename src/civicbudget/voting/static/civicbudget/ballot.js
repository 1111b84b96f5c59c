// While a resident ticks projects: how many are chosen and what they cost, against the
// ballot's limits, so a ballot the server would refuse is seen before it is cast. The
// server still checks everything; without this script the form works the same.
(function () {
  document.querySelectorAll("form[data-ballot]").forEach(function (form) {
    var live = form.querySelector(".ballot-live");
    if (!live) { return; }
    var max = parseInt(form.getAttribute("data-max") || "0", 10);
    var budget = parseInt(form.getAttribute("data-budget") || "0", 10);
    function update() {
      var n = 0, sum = 0;
      form.querySelectorAll("input[type=checkbox][data-cost]").forEach(function (box) {
        if (box.checked) { n += 1; sum += parseInt(box.getAttribute("data-cost"), 10) || 0; }
      });
      live.querySelector(".chosen").textContent = String(n);
      live.querySelector(".sum").textContent = sum.toLocaleString("en-US");
      live.querySelector(".over").hidden = !((max && n > max) || (budget && sum > budget));
    }
    form.addEventListener("change", update);
    live.hidden = false;
    update();
  });
})();
