// Canvas injects window.__MIXPEEK__ into every HTML page it serves.
const canvas = window.__MIXPEEK__ || {};
document.getElementById("where").textContent = canvas.slug
  ? `Served by Canvas: app ${canvas.slug}, ${canvas.environment}.`
  : "Opened from disk: deploy it (or run mixpeek dev) to see what Canvas injects.";

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

// /api is Canvas's proxy to the Mixpeek API: it adds the key, which this page never holds.
async function askTheApi() {
  const line = document.getElementById("api");
  if (!canvas.apiBaseUrl) {
    line.textContent = "The Mixpeek API is reached through /api once Canvas serves the page.";
    return;
  }
  try {
    const response = await fetch(`${canvas.apiBaseUrl}/v1/apps/${encodeURIComponent(canvas.appId)}`);
    const data = await response.json().catch(() => ({}));
    const why = typeof data.error === "string" ? data.error : data.error?.message;
    line.textContent = response.ok
      ? `Through /api, the Mixpeek API knows app ${data.app_id} (version ${data.version}).`
      : `/api answered ${response.status}: ${why || response.statusText}`;
  } catch (error) {
    line.textContent = `/api failed: ${error}`;
  }
}
askTheApi();
