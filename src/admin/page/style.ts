// The operator page's stylesheet (GET /ui/app.css). Plain CSS; states are classes the script sets
// (the Content-Security-Policy forbids inline styles).

export const PAGE_CSS = `:root { color-scheme: light; --ink: #1d2430; --muted: #6b7280; --line: #d9dee7; --bg: #f6f7f9; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.4 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--ink); background: var(--bg); }
header { display: flex; align-items: baseline; gap: 16px; padding: 12px 20px; background: #1d2430; color: #fff; }
header h1 { margin: 0; font-size: 18px; }
header .updated { color: #aab3c2; font-size: 12px; }
header button { margin-left: auto; }
main, .login { padding: 12px 20px 24px; max-width: 1280px; }
h2 { font-size: 15px; margin: 20px 0 8px; }
h3 { font-size: 13px; margin: 14px 0 6px; text-transform: uppercase; letter-spacing: .04em; color: var(--muted); }
.conn { font-size: 12px; padding: 2px 8px; border-radius: 10px; background: #4b5563; }
.conn.live { background: #15803d; }
.conn.lost { background: #b91c1c; }
table.grid { border-collapse: collapse; width: 100%; background: #fff; border: 1px solid var(--line); }
.grid th, .grid td { padding: 5px 8px; border-bottom: 1px solid var(--line); text-align: left; white-space: nowrap; }
.grid th { font-weight: 600; font-size: 12px; color: var(--muted); background: #fafbfc; }
.region table { table-layout: fixed; }
.region th:nth-child(1) { width: 13%; }
.region th:nth-child(2), .region th:nth-child(4) { width: 8%; }
.region th:nth-child(3) { width: 10%; }
.region th:nth-child(n+5):nth-child(-n+10) { width: 6.5%; }
.region th:nth-child(12) { width: 110px; }
.region td { overflow: hidden; text-overflow: ellipsis; }
.grid td.num { text-align: right; font-variant-numeric: tabular-nums; }
.grid td.wrap { white-space: normal; color: var(--muted); font-size: 12px; }
.badge { display: inline-block; min-width: 74px; text-align: center; padding: 1px 8px; border-radius: 10px; font-size: 12px; font-weight: 600; }
.status-up { background: #dcfce7; color: #166534; }
.status-down { background: #fee2e2; color: #991b1b; }
.status-split-brain { background: #7f1d1d; color: #fff; }
.status-draining { background: #fef3c7; color: #92400e; }
.status-drained { background: #e5e7eb; color: #374151; }
.status-catching-up { background: #dbeafe; color: #1e40af; }
.role-master { font-weight: 600; }
.action { min-height: 1.4em; margin: 4px 0; font-size: 13px; }
.action.ok { color: #166534; }
.action.failed, .error { color: #b91c1c; }
.muted { color: var(--muted); }
.events { list-style: none; margin: 0; padding: 0; background: #fff; border: 1px solid var(--line); }
.events li { padding: 4px 8px; border-bottom: 1px solid var(--line); font-size: 13px; }
.events time { color: var(--muted); margin-right: 10px; font-variant-numeric: tabular-nums; }
.events .kind { display: inline-block; width: 64px; color: var(--muted); font-size: 12px; }
.events li.kind-failover .kind { color: #b91c1c; }
.events li.kind-drain .kind { color: #92400e; }
.events li.kind-health .kind { color: #1e40af; }
.login form { display: flex; flex-direction: column; gap: 8px; max-width: 360px; margin-top: 24px; }
.login input { padding: 6px 8px; font: inherit; }
button { font: inherit; padding: 3px 10px; cursor: pointer; }
`;
