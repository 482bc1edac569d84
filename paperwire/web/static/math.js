/* Math with the bundled KaTeX (static/vendor/katex, installed by `make install`).
   Loaded as a file (the CSP allows no inline script). Without JavaScript, or without
   KaTeX, the page shows the TeX source: nothing here is needed to read or act.
   - Comments: the server marks math as <span class="math"> / <div class="math-display">
     holding the escaped TeX with its delimiters; it is rendered in place.
   - Titles and abstracts (plain text from arXiv): $…$ and $$…$$ are found by KaTeX's
     auto-render. katex.render builds DOM nodes and sets styles through the CSSOM, which
     the CSP (style-src 'self') allows; no HTML string is ever injected. */
(function () {
  "use strict";
  function run() {
    var katex = window.katex;
    if (!katex) return;
    var options = { throwOnError: false, strict: "ignore", trust: false, maxExpand: 1000 };
    document.querySelectorAll(".comment-body .math").forEach(function (el) {
      var display = el.classList.contains("math-display");
      var tex = el.textContent.replace(/^\$\$?/, "").replace(/\$\$?$/, "");
      try {
        katex.render(tex, el, Object.assign({ displayMode: display }, options));
        el.setAttribute("data-tex", tex);
      } catch (e) { /* leave the TeX source */ }
    });
    var auto = window.renderMathInElement;
    if (!auto) return;
    document.querySelectorAll(".paper-title, .abstract, .card-title, .card-teaser").forEach(function (el) {
      if (el.textContent.indexOf("$") < 0) return;
      auto(el, Object.assign({
        delimiters: [
          { left: "$$", right: "$$", display: true },
          { left: "$", right: "$", display: false }
        ]
      }, options));
    });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", run);
  else run();
})();
