/**
 * The admin page: plain HTML with landmarks and a label for every control; the script
 * (page-script.ts) fills it from the admin API. No data is in the page itself.
 */
export const ADMIN_PAGE_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Bridge administration</title>
<style>
  body { font-family: system-ui, sans-serif; margin: 0; color: #111; background: #fafafa; }
  header { background: #123; color: #fff; padding: .6rem 1rem; display: flex; gap: 1rem; align-items: center; }
  header h1 { font-size: 1.2rem; margin: 0; flex: 1; }
  nav ul { list-style: none; display: flex; flex-wrap: wrap; gap: 1rem; padding: 0 1rem; }
  nav a { color: #035; }
  main { padding: 0 1rem 2rem; max-width: 72rem; }
  section { background: #fff; border: 1px solid #ccd; border-radius: 4px; padding: .5rem 1rem; margin: 1rem 0; }
  table { border-collapse: collapse; width: 100%; font-size: .9rem; }
  th, td { text-align: left; padding: .25rem .5rem; border-bottom: 1px solid #dde; vertical-align: top; }
  form { display: flex; flex-wrap: wrap; gap: .5rem 1rem; align-items: flex-end; margin: .5rem 0; }
  label { display: flex; flex-direction: column; font-size: .85rem; }
  input, select, button { font: inherit; padding: .2rem .4rem; }
  button { cursor: pointer; }
  .error { color: #a00; }
  .ok { color: #060; }
  .failed { color: #a00; font-weight: bold; }
  [aria-invalid="true"] { border: 2px solid #a00; }
  [hidden] { display: none !important; }
  .visually-hidden { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); }
  :focus-visible { outline: 3px solid #f90; }
</style>
</head>
<body>
<header>
  <h1>PACS ↔ FSE bridge: administration</h1>
  <span id="whoami" aria-live="polite"></span>
  <button type="button" id="logout" hidden>Log out</button>
</header>
<main id="main">
  <section id="login-section" aria-labelledby="login-title">
    <h2 id="login-title">Log in</h2>
    <form id="login-form">
      <label for="login-username">User name<input id="login-username" name="username" autocomplete="username"></label>
      <label for="login-password">Password<input id="login-password" name="password" type="password" autocomplete="current-password"></label>
      <label for="login-token">or token<input id="login-token" name="token" type="password" autocomplete="off"></label>
      <button type="submit">Log in</button>
    </form>
    <p id="login-error" class="error" role="alert"></p>
  </section>

  <div id="app" hidden>
    <nav aria-label="Sections">
      <ul>
        <li><a href="#nodes-title">PACS nodes</a></li>
        <li><a href="#peers-title">Allowed peers</a></li>
        <li><a href="#associations-title">Recent associations</a></li>
        <li><a href="#outbox-title">FSE outbox</a></li>
        <li><a href="#queue-title">On-demand queue</a></li>
        <li><a href="#audit-title">Changes</a></li>
        <li><a href="/metrics">Metrics</a></li>
      </ul>
    </nav>
    <p id="status" role="status" aria-live="polite"></p>

    <section aria-labelledby="local-title">
      <h2 id="local-title">This bridge</h2>
      <p id="local-aes"></p>
    </section>

    <section aria-labelledby="nodes-title">
      <h2 id="nodes-title">PACS nodes</h2>
      <table>
        <caption class="visually-hidden">PACS nodes the bridge queries and retrieves from</caption>
        <thead><tr><th scope="col">Name</th><th scope="col">AE title</th><th scope="col">Host</th><th scope="col">Port</th><th scope="col">Retrieve</th><th scope="col">Move destination</th><th scope="col">Actions</th></tr></thead>
        <tbody id="nodes"></tbody>
      </table>
      <h3 id="node-form-title">Add a node</h3>
      <form id="node-form" aria-labelledby="node-form-title">
        <label for="node-name">Name<input id="node-name" name="name" required></label>
        <label for="node-aeTitle">AE title<input id="node-aeTitle" name="aeTitle" required maxlength="16"></label>
        <label for="node-host">Host<input id="node-host" name="host" required></label>
        <label for="node-port">Port<input id="node-port" name="port" type="number" min="1" max="65535" required></label>
        <label for="node-retrieveMethod">Retrieve with<select id="node-retrieveMethod" name="retrieveMethod"><option>C-MOVE</option><option>C-GET</option></select></label>
        <label for="node-moveDestination">Move destination (ours)<input id="node-moveDestination" name="moveDestination" maxlength="16"></label>
        <label for="node-callingAeTitle">Calling AE title (ours)<input id="node-callingAeTitle" name="callingAeTitle" maxlength="16"></label>
        <button type="submit" id="node-submit">Add node</button>
        <button type="button" id="node-cancel" hidden>Cancel editing</button>
      </form>
      <p id="node-error" class="error" role="alert"></p>
      <h3 id="verify-title">Verification</h3>
      <div id="verify-result" aria-labelledby="verify-title" aria-live="polite"><p>Press a Verify button: C-ECHO, C-FIND, then C-MOVE of one instance to this bridge.</p></div>
    </section>

    <section aria-labelledby="peers-title">
      <h2 id="peers-title">Allowed peers</h2>
      <table>
        <thead><tr><th scope="col">AE title</th><th scope="col">Host</th><th scope="col">Actions</th></tr></thead>
        <tbody id="peers"></tbody>
      </table>
      <h3 id="peer-form-title">Add a peer</h3>
      <form id="peer-form" aria-labelledby="peer-form-title">
        <label for="peer-aeTitle">AE title<input id="peer-aeTitle" name="aeTitle" required maxlength="16"></label>
        <label for="peer-host">Host (empty: any)<input id="peer-host" name="host"></label>
        <button type="submit" id="peer-submit">Add peer</button>
        <button type="button" id="peer-cancel" hidden>Cancel editing</button>
      </form>
      <p id="peer-error" class="error" role="alert"></p>
    </section>

    <section aria-labelledby="associations-title">
      <h2 id="associations-title">Recent associations</h2>
      <button type="button" id="refresh">Refresh</button>
      <table>
        <thead><tr><th scope="col">Time</th><th scope="col">Calling AE</th><th scope="col">Peer host</th><th scope="col">Stored</th><th scope="col">Failed</th><th scope="col">Status</th></tr></thead>
        <tbody id="associations"></tbody>
      </table>
    </section>

    <section aria-labelledby="outbox-title">
      <h2 id="outbox-title">FSE outbox</h2>
      <p id="outbox-counts"></p>
      <button type="button" id="resend-all">Re-send all dead letters</button>
      <table>
        <thead><tr><th scope="col">Id</th><th scope="col">Kind</th><th scope="col">Report</th><th scope="col">Attempts</th><th scope="col">Last error</th><th scope="col">Actions</th></tr></thead>
        <tbody id="dead-letters"></tbody>
      </table>
    </section>

    <section aria-labelledby="queue-title">
      <h2 id="queue-title">On-demand queue</h2>
      <p id="queue"></p>
    </section>

    <section aria-labelledby="audit-title">
      <h2 id="audit-title">Changes</h2>
      <table>
        <thead><tr><th scope="col">Time</th><th scope="col">Who</th><th scope="col">Action</th><th scope="col">What</th></tr></thead>
        <tbody id="audit"></tbody>
      </table>
    </section>
  </div>
</main>
<script src="/admin/admin.js" defer></script>
</body>
</html>
`;
