/** The two databases calbridge runs on. */
export type Dialect = 'sqlite' | 'postgres';
