// The console's own script (its Content-Security-Policy allows no inline script or
// javascript: url): a "Go back" link returns to the previous page, keeping what was typed in
// its form; without history (or without scripts) it opens its href, the console's start page.
document.addEventListener("click", (event) => {
  const link = event.target.closest("a[data-back]");
  if (link && window.history.length > 1) {
    event.preventDefault();
    window.history.back();
  }
});
