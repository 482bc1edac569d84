// Dismiss the email banner without leaving the page: the same POST the form makes
// (it sets the cookie that keeps the banner away), then the banner goes.
document.addEventListener("submit", function (event) {
  var form = event.target;
  if (!form.classList || !form.classList.contains("banner-dismiss")) return;
  event.preventDefault();
  fetch(form.action, {
    method: "POST",
    body: new URLSearchParams(new FormData(form)),
    credentials: "same-origin",
    redirect: "manual",
  }).finally(function () {
    var banner = document.getElementById("email-banner");
    if (banner) banner.remove();
  });
});
