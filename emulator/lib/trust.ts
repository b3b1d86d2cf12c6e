/**
 * Makes this process's global fetch (used by @azure/msal-node and @microsoft/microsoft-graph-client) trust the
 * emulator's TLS certificate, in addition to the system roots. Alternative for child processes:
 * NODE_EXTRA_CA_CERTS=emulator/tls/ca.pem.
 */
import { readFileSync } from 'node:fs';
import { rootCertificates } from 'node:tls';
import { Agent, setGlobalDispatcher } from 'undici';

export const EMULATOR_CA_PATH = new URL('../tls/ca.pem', import.meta.url).pathname;

export function trustEmulatorCertificate(extraCa?: string): void {
  const ca = [...rootCertificates, extraCa ?? readFileSync(EMULATOR_CA_PATH, 'utf8')];
  setGlobalDispatcher(new Agent({ connect: { ca } }));
}
