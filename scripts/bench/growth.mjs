// Growth: latency and start-up with more users on disk, and write cost as one file grows.
import { runFileGrowth } from './file-growth.mjs';
import { runUsersOnDisk } from './users-on-disk.mjs';

export const name = 'growth';
export const title = 'Growth';

export async function run(ctx) {
  const users = await runUsersOnDisk(ctx);
  const file = await runFileGrowth(ctx);
  return {
    results: { ...users.results, flatness: users.results.flatness, fileGrowth: file.results },
    table: [users.table, file.table],
  };
}
