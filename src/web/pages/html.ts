/**
 * Server-rendered HTML: a tagged template that escapes every value (only `Html` passes through), one layout, one
 * stylesheet (served from /assets, so the Content-Security-Policy needs no inline styles and no scripts at all).
 */
export class Html {
  constructor(readonly value: string) {}
  toString(): string {
    return this.value;
  }
}

type Value = Html | string | number | boolean | null | undefined | Value[];

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

function render(v: Value): string {
  if (v === null || v === undefined || v === false) return '';
  if (Array.isArray(v)) return v.map(render).join('');
  if (v instanceof Html) return v.value;
  return escapeHtml(String(v));
}

export function html(strings: TemplateStringsArray, ...values: Value[]): Html {
  let out = strings[0]!;
  for (let i = 0; i < values.length; i++) out += render(values[i]!) + strings[i + 1]!;
  return new Html(out);
}

export interface Layout {
  title: string;
  /** Who is signed in (shown with a sign-out button), if anyone; a member is not offered the operators' dashboard. */
  signedIn?: { email: string; csrf: string; member: boolean };
  body: Html;
}

export function layout(l: Layout): string {
  return `<!doctype html>${html`<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${l.title} · calbridge</title><link rel="stylesheet" href="/assets/calbridge.css"></head>
<body><header><a class="brand" href="/">calbridge</a><nav aria-label="Main"><a href="/connect">My calendar</a>${l.signedIn?.member ? '' : html`<a href="/admin">Dashboard</a>`}<a href="/docs">API</a></nav>
${l.signedIn ? html`<form method="post" action="/logout" class="signout"><input type="hidden" name="_csrf" value="${l.signedIn.csrf}"><span>${l.signedIn.email}</span> <button>Sign out</button></form>` : ''}</header>
<main id="main">${l.body}</main></body></html>`}`;
}

/** The page for an address that is not one of calbridge's. */
export function notFoundPage(): string {
  return layout({ title: 'Not found', body: html`<h1>Not found</h1><p class="notice bad">There is no page at this address.</p><p><a href="/connect">My calendar</a> · <a href="/admin">Dashboard</a> · <a href="/">Home</a></p>` });
}

/** A date-time for people: "2026-11-30 14:05 UTC" (pages show UTC, like the API). */
export function when(iso: string | null | undefined): string {
  return iso ? `${iso.slice(0, 10)} ${iso.slice(11, 16)} UTC` : '—';
}

/**
 * The one stylesheet. On a phone, tables of class "cards" become one card per row, each value labelled: the labels
 * repeat the column headers, because CSS cannot read a header's text.
 */
export const STYLESHEET = `
:root{--fg:#1b1f24;--muted:#5b6470;--line:#d8dde3;--accent:#0b5cad;--bad:#a4161a;--warn:#8a5a00;--ok:#1a7f37;font-family:system-ui,-apple-system,"Segoe UI",sans-serif;color:var(--fg);line-height:1.45}
body{margin:0;background:#f6f8fa}header{display:flex;flex-wrap:wrap;gap:.5rem 1.5rem;align-items:center;padding:.75rem 1rem;background:#fff;border-bottom:1px solid var(--line)}
.brand{font-weight:700;color:var(--fg);text-decoration:none;font-size:1.1rem}nav{display:flex;gap:1rem;flex-wrap:wrap}nav a{color:var(--accent)}
.signout{margin-left:auto;display:flex;flex-wrap:wrap;gap:.5rem;align-items:center;color:var(--muted);min-width:0}.signout span{overflow-wrap:anywhere}main{max-width:72rem;margin:0 auto;padding:1rem;overflow-wrap:anywhere}
h1{font-size:1.5rem;margin:.5rem 0 1rem}h2{font-size:1.15rem;margin:1.5rem 0 .5rem}section,.card{background:#fff;border:1px solid var(--line);border-radius:6px;padding:1rem;margin:0 0 1rem}
table{border-collapse:collapse;width:100%;background:#fff}th,td{text-align:left;padding:.4rem .5rem;border-bottom:1px solid var(--line);vertical-align:top}th{font-size:.85rem;color:var(--muted);overflow-wrap:normal}section>h2:first-child{margin-top:0}
.scroll{overflow-x:auto}a{color:var(--accent)}a:focus,button:focus,input:focus,select:focus{outline:3px solid #79b8ff;outline-offset:1px}
button,.button{font:inherit;padding:.4rem .9rem;border-radius:5px;border:1px solid var(--accent);background:var(--accent);color:#fff;cursor:pointer;text-decoration:none;display:inline-block}
button.secondary,.button.secondary{background:#fff;color:var(--accent)}button.danger{background:var(--bad);border-color:var(--bad)}
label{display:block;margin:.6rem 0 .2rem;font-weight:600}input[type=text],input[type=email],input[type=password],input[type=date],select{font:inherit;padding:.4rem;border:1px solid var(--line);border-radius:4px;width:100%;max-width:28rem;box-sizing:border-box}
.inline{display:inline}.row{display:flex;flex-wrap:wrap;gap:.5rem;align-items:end}.row label{margin:0 0 .2rem}.row>div{min-width:10rem}
.state{white-space:nowrap;overflow-wrap:normal;font-weight:600;padding:.05rem .4rem;border-radius:4px;background:#eef1f4}.state.active{color:var(--ok)}.state.failed,.state.reauth_required{color:#fff;background:var(--bad)}.state.renewing,.state.credentials_missing{color:var(--warn)}
.notice{border-left:4px solid var(--accent);padding:.6rem 1rem;background:#fff;margin:0 0 1rem}.notice.bad{border-color:var(--bad)}.muted{color:var(--muted)}
.attention{border-color:var(--bad)}.actions{display:flex;gap:.4rem;flex-wrap:wrap}
@media (max-width:40rem){th.optional,td.optional{display:none}main{padding:.5rem}
table.cards,table.cards tbody,table.cards tr,table.cards td{display:block}table.cards thead{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0)}
table.cards tr{border-bottom:2px solid var(--line);padding:.4rem 0}table.cards td{border:0;padding:.15rem .5rem}table.cards td.optional{display:block}
table.cards td::before{display:inline-block;min-width:9rem;color:var(--muted);font-size:.85rem}
.connections td:nth-child(1)::before{content:"Member"}.connections td:nth-child(2)::before{content:"Calendar"}.connections td:nth-child(3)::before{content:"Resource"}.connections td:nth-child(4)::before{content:"State"}.connections td:nth-child(5)::before{content:"Subscription expires"}.connections td:nth-child(6)::before{content:"Last notification"}.connections td:nth-child(7)::before{content:"Last sync"}.connections td:nth-child(8)::before{content:"Conflicts"}
.bookings td:nth-child(1)::before{content:"From"}.bookings td:nth-child(2)::before{content:"To"}.bookings td:nth-child(3)::before{content:"Resource"}.bookings td:nth-child(4)::before{content:"Member"}.bookings td:nth-child(5)::before{content:"From where"}.bookings td:nth-child(6)::before{content:"Notes"}
.history td:nth-child(1)::before{content:"When"}.history td:nth-child(2)::before{content:"What"}.history td:nth-child(3)::before{content:"Outcome"}.history td:nth-child(4)::before{content:"Tries"}.history td:nth-child(5)::before{content:"Error"}
.upcoming td:nth-child(1)::before{content:"Resource"}.upcoming td:nth-child(2)::before{content:"From"}.upcoming td:nth-child(3)::before{content:"To"}.upcoming td:nth-child(4)::before{content:"What"}}
`;
