export interface Cluster {
  readonly adminUrl: string;
  url(database: string): string;
  start(): void;
  kill(): void;
  stop(): void;
}
export function postgresBinDir(): string | undefined;
export function startCluster(options?: { durable?: boolean }): Cluster;
export function createDatabase(adminUrl: string, name: string): Promise<void>;
