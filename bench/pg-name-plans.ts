/**
 * The plans PostgreSQL chooses for the benchmark's Name substring lists, term by term and page by page:
 *
 *   DATABASE_URL=postgres://... npx tsx bench/pg-name-plans.ts [--pages 5] [--size 20]
 *
 * The query is the one calbridge sends for `?CoworkerMsOfficeCalendar_Name=<term>&page=<p>&size=20` (prepared by the
 * real repository, so its SQL is the service's), run with EXPLAIN (ANALYZE, BUFFERS) EXECUTE. Prints, per term: the
 * planner's estimate of the matches against the true count, then per page the access path, the rows the scan read
 * and the execution time, and the whole plan of the deepest page. A Markdown report on stdout.
 */
import pg from 'pg';
import { openPostgres } from '../src/storage/database.js';
import { CoworkerMsOfficeCalendarRepository } from '../src/modules/calendars/repository.js';
import { likeContains } from '../src/modules/records/list-sql.js';
import { intArg, parseArgs, usage, type OptionSpec } from './lib/args.js';

const SPEC: Record<string, OptionSpec> = {
  pages: { value: true, help: 'pages per term (default 5, as the benchmark)' },
  size: { value: true, help: 'page size (default 20)' },
  generic: { value: false, help: 'show the generic plan (plan_cache_mode = force_generic_plan) instead of the custom plans PostgreSQL uses' },
};
const TERMS = ['quist', 'smith', 'jensen', 'garcia', 'novak'];

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2), SPEC);
  if (args.has('help')) return void process.stdout.write(usage('npx tsx bench/pg-name-plans.ts', SPEC));
  const url = process.env.DATABASE_URL?.trim();
  if (!url) throw new Error('DATABASE_URL must name a database seeded by npm run bench');
  const pages = intArg(args, 'pages', 5);
  const size = intArg(args, 'size', 20);
  const storage = openPostgres({ url, poolSize: 1 });
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    // The page statement exactly as the repository prepares it, through PREPARE and EXPLAIN EXECUTE. PostgreSQL plans
    // it per execution (custom plans: its generic plan, which cannot know the LIMIT, is estimated dearer and never
    // chosen); --generic shows the generic plan instead.
    const repo = new CoworkerMsOfficeCalendarRepository(storage);
    const pageSql = (repo as unknown as { namePage(direction: 'ASC', inline: undefined): { sql: string } }).namePage('ASC', undefined).sql;
    await client.query(`SET plan_cache_mode = ${args.has('generic') ? 'force_generic_plan' : 'force_custom_plan'}`);
    await client.query(`PREPARE name_page(text, int, int) AS ${pageSql}`);
    const explain = (options: string, term: string, page: number) =>
      client.query(`EXPLAIN (${options}) EXECUTE name_page(${client.escapeLiteral(likeContains(term))}, ${size}, ${(page - 1) * size})`);
    const out: string[] = [];
    const target = (await client.query<{ t: number }>(
      `SELECT a.attstattarget AS t FROM pg_attribute a WHERE a.attrelid = 'coworker_ms_office_calendars'::regclass AND a.attname = 'name_lower'`)).rows[0]?.t;
    out.push(`# Name substring plans on PostgreSQL (${(await client.query('SELECT version() AS v')).rows[0].v.split(' on ')[0]})\n`);
    out.push(`Statistics target of name_lower: ${target} (migrations 013, 014). Query: the repository's page statement (by Id, ${size} a page; its ${args.has('generic') ? 'generic' : 'custom'} plan), on (id) INCLUDE (name_lower) (migration 015).\n`);
    out.push('| term | estimated matches | true matches | page | access path | rows read by the scan | execution ms |');
    out.push('|---|---:|---:|---:|---|---:|---:|');
    let deepest = '';
    for (const term of TERMS) {
      const pattern = likeContains(term);
      const est = (await client.query(`EXPLAIN (FORMAT JSON) SELECT 1 FROM coworker_ms_office_calendars c WHERE c.name_lower LIKE $1 ESCAPE '\\'`, [pattern])).rows[0]['QUERY PLAN'][0].Plan['Plan Rows'];
      const truth = Number((await client.query(`SELECT count(*) AS n FROM coworker_ms_office_calendars c WHERE c.name_lower LIKE $1 ESCAPE '\\'`, [pattern])).rows[0].n);
      for (let page = 1; page <= pages; page++) {
        const r = await explain('ANALYZE, BUFFERS, FORMAT JSON', term, page);
        const root = r.rows[0]['QUERY PLAN'][0];
        const scan = findScan(root.Plan);
        out.push(`| ${page === 1 ? term : ''} | ${page === 1 ? est : ''} | ${page === 1 ? truth : ''} | ${page} | ${scan.label} | ${scan.read} | ${root['Execution Time'].toFixed(2)} |`);
        if (term === TERMS[0] && page === pages) {
          deepest = (await explain('ANALYZE, COSTS OFF, BUFFERS', term, page)).rows.map((x) => x['QUERY PLAN']).join('\n');
        }
      }
    }
    out.push(`\nThe whole plan of "${TERMS[0]}", page ${pages}:\n\n\`\`\`\n${deepest}\n\`\`\`\n`);
    process.stdout.write(`${out.join('\n')}\n`);
  } finally {
    await client.end();
    await storage.close();
  }
}

/** The scan of the calendar table: its node type and index, and the rows it read (returned plus removed by its filter). */
function findScan(node: any): { label: string; read: number } {
  if (node['Relation Name'] === 'coworker_ms_office_calendars' || node['Node Type'] === 'Bitmap Heap Scan') {
    const read = (node['Actual Rows'] ?? 0) * (node['Actual Loops'] ?? 1) + (node['Rows Removed by Filter'] ?? 0) + (node['Rows Removed by Index Recheck'] ?? 0);
    return { label: `${node['Node Type']}${node['Index Name'] ? ` (${node['Index Name']})` : ''}`, read };
  }
  for (const child of node.Plans ?? []) {
    const found = findScan(child);
    if (found.label) return found;
  }
  return { label: '', read: 0 };
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
