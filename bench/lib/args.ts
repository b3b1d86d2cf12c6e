/** A small `--name value` / `--flag` command-line parser with typed getters and a clear error for unknown options. */
export interface OptionSpec {
  /** true: takes a value; false: a switch. */
  value: boolean;
  help: string;
}

export class ArgError extends Error {}

export function parseArgs(argv: string[], spec: Record<string, OptionSpec>): Map<string, string | true> {
  const out = new Map<string, string | true>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith('--')) throw new ArgError(`unexpected argument "${arg}"`);
    const eq = arg.indexOf('=');
    const name = arg.slice(2, eq < 0 ? undefined : eq);
    const opt = spec[name];
    if (!opt) throw new ArgError(`unknown option --${name}`);
    if (!opt.value) {
      if (eq >= 0) throw new ArgError(`--${name} takes no value`);
      out.set(name, true);
      continue;
    }
    const value = eq >= 0 ? arg.slice(eq + 1) : argv[++i];
    if (value === undefined) throw new ArgError(`--${name} needs a value`);
    out.set(name, value);
  }
  return out;
}

export function intArg(args: Map<string, string | true>, name: string, def: number, min = 1): number {
  const raw = args.get(name);
  if (raw === undefined) return def;
  const n = Number(String(raw).replace(/_/g, ''));
  if (!Number.isSafeInteger(n) || n < min) throw new ArgError(`--${name} must be a whole number >= ${min} (got "${String(raw)}")`);
  return n;
}

export function usage(command: string, spec: Record<string, OptionSpec>): string {
  const lines = Object.entries(spec).map(([name, o]) => `  --${name}${o.value ? ' <value>' : ''}`.padEnd(28) + o.help);
  return `usage: ${command} [options]\n${lines.join('\n')}`;
}
