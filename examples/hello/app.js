// Canvas injects window.__MIXPEEK__ into every HTML page it serves.
const canvas = window.__MIXPEEK__ || {};
document.getElementById("where").textContent = canvas.slug
  ? `Served by Canvas: app ${canvas.slug}, ${canvas.environment}.`
  : "Opened from disk: deploy it to see what Canvas injects.";

// api/hello.js is a server function: Canvas serves it at /functions/hello.
document.getElementById("ask").addEventListener("click", async () => {
  const answer = document.getElementById("answer");
  answer.hidden = false;
  try {
    const response = await fetch("/functions/hello?name=Canvas");
    answer.textContent = `${response.status}: ${await response.text()}`;
  } catch (error) {
    answer.textContent = `request failed: ${error}`;
  }
});
