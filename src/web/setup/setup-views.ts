// The setup page's views: every value from the request or GitHub goes through html`...` (escaped);
// the manifest travels as a hidden form field's value, escaped like any other.
import { html, safeUrl, type SafeHtml } from '../views/html.js';
import { EVENT_REASONS, PERMISSION_REASONS, type AppDefinition } from './manifest.js';

export interface SiteAddresses {
  /** What the person typed, normalised (no trailing slash). */
  publicUrl: string;
  /** Where GitHub delivers webhooks. */
  webhookUrl: string;
  /** Where the person's browser reaches this server. */
  siteUrl: string;
  /** A smee.io channel: webhooks reach this server through `smee-client`. */
  smee: boolean;
}

interface Common {
  app: AppDefinition;
  port: number;
  webhookPath: string;
}

const STYLE = `
*{box-sizing:border-box}
body{margin:0;font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1f2328;background:#f6f8fa}
header{padding:.6rem 1.2rem;background:#24292f;color:#fff;font-size:1.1rem}
main{max-width:52rem;margin:0 auto;padding:1rem 1.2rem 3rem}
h1{font-size:1.4rem}
h2{font-size:1.1rem;margin-top:1.6rem}
section{background:#fff;border:1px solid #d0d7de;border-radius:6px;padding:.4rem 1rem 1rem;margin:1rem 0}
label{display:block;font-weight:600;margin:.8rem 0 .2rem}
input[type=text],input[type=url],input[type=password],textarea{width:100%;font:inherit;padding:.35rem .5rem;border:1px solid #d0d7de;border-radius:6px}
textarea{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:12px;height:9rem}
button{font:inherit;margin-top:1rem;padding:.45rem 1rem;border:0;border-radius:6px;background:#1f883d;color:#fff;cursor:pointer}
code,pre{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:13px;background:#eff1f3;border-radius:4px;padding:.1rem .3rem}
pre{padding:.6rem;overflow-x:auto}
.webhook-url{font-size:1.05rem;word-break:break-all}
.problem{background:#ffebe9;border:1px solid #ff818266;color:#82071e;border-radius:6px;padding:.6rem 1rem}
.hint{color:#57606a;font-size:.9rem}
table{border-collapse:collapse;width:100%}
th,td{text-align:left;vertical-align:top;padding:.3rem .5rem;border-bottom:1px solid #eaeef2}
table.events{margin-top:1rem}
`;

function layout(title: string, body: SafeHtml): SafeHtml {
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>${title} · Parapet setup</title>
<style>${STYLE}</style>
</head>
<body>
<header>Parapet · setup</header>
<main>
<h1>${title}</h1>
${body}
</main>
</body>
</html>
`;
}

function problemBox(problem: string | undefined): SafeHtml | '' {
  return problem ? html`<p class="problem" role="alert">${problem}</p>` : '';
}

/** What the App asks for, each with why. */
function accessTable(app: AppDefinition): SafeHtml {
  return html`<h2>What the App asks for</h2>
<table class="permissions"><thead><tr><th>Permission</th><th>Access</th><th>Why</th></tr></thead><tbody>${Object.entries(app.permissions).map(
    ([name, level]) => html`<tr><td><code>${name}</code></td><td>${level}</td><td>${PERMISSION_REASONS[name] ?? ''}</td></tr>`,
  )}</tbody></table>
<table class="events"><thead><tr><th>Event</th><th>Why</th></tr></thead><tbody>${app.events.map((event) => html`<tr><td><code>${event}</code></td><td>${EVENT_REASONS[event] ?? ''}</td></tr>`)}</tbody></table>`;
}

function smeeHelp(common: Common): SafeHtml {
  return html`<details class="smee"><summary>Trying it on your machine? Use a smee.io channel</summary>
<p>GitHub delivers webhooks over the internet, so it cannot reach <code>localhost</code>. <a href="https://smee.io/new" rel="noreferrer">smee.io</a> relays them:
open <a href="https://smee.io/new" rel="noreferrer">https://smee.io/new</a>, copy the channel’s address (<code>https://smee.io/…</code>), give it above as the public URL, and keep this running beside Parapet:</p>
<pre>npx smee-client --url https://smee.io/YOUR-CHANNEL --target http://localhost:${common.port}${common.webhookPath}</pre>
<p class="hint">Anyone who knows the channel’s address can read the deliveries: use smee.io only to try Parapet, never for a production App.</p>
</details>`;
}

export function startPage(view: Common & { publicUrl: string; organization: string; problem?: string }): SafeHtml {
  return layout(
    `Register ${view.app.name} on GitHub`,
    html`<p>Parapet runs as a GitHub App. It has no credentials yet: register it on GitHub from here (a minute), then restart it.</p>
${problemBox(view.problem)}
<section>
<form method="get" action="/" class="public-url">
<label for="public_url">Public URL of this server</label>
<input type="url" id="public_url" name="public_url" required placeholder="https://parapet.example.com" value="${view.publicUrl}">
<p class="hint">The address GitHub reaches this server at (your ingress or load balancer). GitHub delivers webhooks to it, at <code>${view.webhookPath}</code>.</p>
<label for="org">Organization <span class="hint">(optional: register the App under an organization you own rather than your account)</span></label>
<input type="text" id="org" name="org" value="${view.organization}" placeholder="my-org">
<button type="submit">Next: review</button>
</form>
${smeeHelp(view)}
</section>
${accessTable(view.app)}
<h2>Registered it before?</h2>
<p><a href="/setup/existing">Use an existing App</a>: you set its webhook URL and paste its credentials.</p>`,
  );
}

export function reviewPage(view: Common & { site: SiteAddresses; action: string; manifest: string; organization: string }): SafeHtml {
  const { site } = view;
  return layout(
    `Register ${view.app.name} on GitHub`,
    html`<section>
<h2>Webhook URL</h2>
<p>GitHub will deliver the App’s webhooks to</p>
<p class="webhook-url"><code id="webhook-url">${site.webhookUrl}</code></p>
${site.smee
  ? html`<p>That is a smee.io channel: keep this running beside Parapet so that the deliveries reach it:</p>
<pre>npx smee-client --url ${site.webhookUrl} --target http://localhost:${view.port}${view.webhookPath}</pre>`
  : html`<p class="hint">Parapet answers there once it has its credentials. Make sure <code>${site.publicUrl}</code> reaches this server (port ${view.port}).</p>`}
<p>After registering, GitHub brings you back to <code>${site.siteUrl}/setup/done</code>${view.organization ? html`; the App belongs to the organization <strong>${view.organization}</strong>` : ''}.</p>
<form method="post" action="${view.action}" class="register">
<input type="hidden" name="manifest" value="${view.manifest}">
<button type="submit">Register the App on GitHub</button>
</form>
<p><a href="/">Change the address</a></p>
</section>
${accessTable(view.app)}`,
  );
}

export function existingAppPage(view: Common & { githubUrl: string; token: string; publicUrl: string; site: SiteAddresses | null; problem?: string }): SafeHtml {
  const { site } = view;
  const appsUrl = safeUrl(`${view.githubUrl}/settings/apps`);
  return layout(
    'Use an existing GitHub App',
    html`${problemBox(view.problem)}
${site
  ? html`<section>
<h2>1. Set the App’s webhook URL</h2>
<p>On the App’s settings page (<a href="${appsUrl}" rel="noreferrer">GitHub Apps</a>, <em>Edit</em>, <em>Webhook</em>), set the webhook URL to</p>
<p class="webhook-url"><code id="webhook-url">${site.webhookUrl}</code></p>
<p class="hint">Turn the webhook on and give it a secret; grant the permissions and subscribe to the events below.</p>
${site.smee ? html`<pre>npx smee-client --url ${site.webhookUrl} --target http://localhost:${view.port}${view.webhookPath}</pre>` : ''}
</section>
<section>
<h2>2. Its credentials</h2>
<form method="post" action="/setup/existing" class="credentials">
<input type="hidden" name="token" value="${view.token}">
<input type="hidden" name="public_url" value="${site.publicUrl}">
<label for="app_id">App ID</label>
<input type="text" id="app_id" name="app_id" inputmode="numeric" required>
<label for="webhook_secret">Webhook secret</label>
<input type="password" id="webhook_secret" name="webhook_secret" required>
<label for="private_key">Private key (the whole .pem file)</label>
<textarea id="private_key" name="private_key" required placeholder="-----BEGIN RSA PRIVATE KEY-----"></textarea>
<button type="submit">Save the credentials</button>
</form>
</section>`
  : html`<section>
<form method="get" action="/setup/existing" class="public-url">
<label for="public_url">Public URL of this server</label>
<input type="url" id="public_url" name="public_url" required placeholder="https://parapet.example.com" value="${view.publicUrl}">
<p class="hint">The address GitHub reaches this server at; the next step shows the webhook URL to set on the App.</p>
<button type="submit">Next: the webhook URL</button>
</form>
${smeeHelp(view)}
</section>`}
${accessTable(view.app)}
<p><a href="/">Register a new App instead</a></p>`,
  );
}

export function registeredPage(registered: { name: string; htmlUrl: string | null }, app: AppDefinition): SafeHtml {
  return layout(
    `${registered.name} is registered`,
    html`<p>Its credentials are saved in <code>.env</code> (the App ID, the private key, the webhook secret${registered.htmlUrl ? ' and its OAuth client for the overview page' : ''}).</p>
<section class="restart">
<h2>Next: restart Parapet</h2>
<p>Stop this process (Ctrl-C) and start it again with <code>npm start</code>, or restart its container (<code>docker restart parapet</code>): it then reads <code>.env</code> and receives webhooks.</p>
${registered.htmlUrl
  ? html`<h2>Then install it</h2><p><a class="install" href="${safeUrl(`${registered.htmlUrl}/installations/new`)}" rel="noreferrer">Install ${registered.name}</a> on the repositories it should check.</p>`
  : html`<p>Make sure the App is installed on the repositories it should check.</p>`}
<p class="hint">Keep <code>.env</code> secret: it holds the App’s private key. ${app.name} asks GitHub for nothing else than the permissions and events it was registered with.</p>
</section>`,
  );
}
