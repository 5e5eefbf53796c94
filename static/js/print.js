// "Imprimir" buttons (data-print): the page has its own print styles.
document.querySelectorAll("[data-print]").forEach((button) => {
  button.addEventListener("click", () => window.print());
});
