// What a schema migration is (server/store/scylla/migrations/index.ts lists them).
export interface Migration {
  version: number;
  name: string;
  statements: string[];
}
