/**
 * npm run graph-emulator — runs the emulator alone on GRAPH_EMULATOR_PORT (default 8090), host
 * GRAPH_EMULATOR_HOST (default 127.0.0.1), seeded with one tenant/app/users unless GRAPH_EMULATOR_SEED=0.
 */
import { startGraphEmulator } from './index.js';

const port = Number(process.env.GRAPH_EMULATOR_PORT ?? 8090);
const host = process.env.GRAPH_EMULATOR_HOST ?? '127.0.0.1';
const emulator = await startGraphEmulator({ port, host, logger: process.env.GRAPH_EMULATOR_LOG === '1' });

const summary: Record<string, unknown> = {
  graph: `${emulator.url}/v1.0/`,
  authorityBase: emulator.url,
  http: emulator.httpUrl,
  control: `${emulator.httpUrl}/_control`,
  knownAuthorities: [emulator.authorityHost],
  trust: 'NODE_EXTRA_CA_CERTS=emulator/tls/ca.pem (or trustEmulatorCertificate() in-process)',
};
if (process.env.GRAPH_EMULATOR_SEED !== '0') {
  const seed = emulator.control.seed({
    tenantId: process.env.GRAPH_EMULATOR_TENANT_ID ?? '8c3f6d1e-5b2a-4c7e-9f10-2a4b6c8d0e1f',
    clientId: process.env.GRAPH_EMULATOR_CLIENT_ID ?? '5d2e4f60-7a8b-4c9d-8e0f-1a2b3c4d5e6f',
    clientSecret: process.env.GRAPH_EMULATOR_CLIENT_SECRET ?? 'emulator-secret',
  });
  summary.tenantId = seed.tenant.id;
  summary.authority = `${emulator.url}/${seed.tenant.id}`;
  summary.clientId = seed.app.clientId;
  summary.clientSecret = seed.app.clientSecret;
  summary.users = seed.users.map((u) => ({ id: u.id, userPrincipalName: u.userPrincipalName, kind: u.kind }));
}
console.log(`Microsoft Graph emulator listening on ${emulator.url} (HTTPS and plain HTTP on the same port)`);
console.log(JSON.stringify(summary, null, 2));

const stop = (): void => {
  void emulator.close().then(() => process.exit(0));
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
