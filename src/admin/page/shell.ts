// The operator page's HTML (GET /ui): a static shell with no data in it — a token form, and empty
// places the script (script.ts, GET /ui/app.js) fills from GET /ui/state. Served without a token:
// it holds nothing an outsider could not read in the source. Kept as a string so the compiled
// package serves it with no file to copy.

export const PAGE_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>Meridian</title>
<link rel="stylesheet" href="/ui/app.css">
<script src="/ui/app.js" defer></script>
</head>
<body>
<header>
  <h1>Meridian</h1>
  <span id="conn" class="conn">not signed in</span>
  <span id="updated" class="updated"></span>
  <button id="signout" type="button" hidden>Sign out</button>
</header>
<section id="login" class="login" hidden>
  <form id="login-form">
    <label for="token">Admin token (<code>admin.http.token</code>)</label>
    <input id="token" name="token" type="password" autocomplete="off" required>
    <button id="login-submit" type="submit">Open</button>
    <p id="login-error" class="error" role="alert"></p>
  </form>
  <p class="hint">The token stays in this tab (sessionStorage) and goes with each request as <code>Authorization: Bearer</code>.</p>
</section>
<main id="main" hidden>
  <p id="action-result" class="action" role="status"></p>
  <section>
    <h2>Nodes by region</h2>
    <div id="regions"></div>
  </section>
  <section>
    <h2>Residency rules</h2>
    <p id="no-residency" class="muted" hidden>No residency rules: every session may use every node.</p>
    <table id="residency" class="grid">
      <thead><tr><th>rule</th><th>match</th><th>regions</th><th>nodes</th><th>writes to</th><th>reads from</th><th>status</th><th>sessions</th><th>refusals</th></tr></thead>
      <tbody></tbody>
    </table>
  </section>
  <section>
    <h2>Last failovers and drains</h2>
    <p id="no-events" class="muted" hidden>Nothing has happened since Meridian started.</p>
    <ol id="events" class="events"></ol>
  </section>
</main>
</body>
</html>
`;
