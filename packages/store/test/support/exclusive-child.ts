// Another process on the same SQLite file: tries `exclusive(name)` and prints whether fn ran.
import { openSqlite } from '@sealpost/store';

const [path, name] = process.argv.slice(2);
const db = openSqlite(path!);
const outcome = await db.exclusive(name!, async () => 'ran');
process.stdout.write(outcome ?? 'skipped');
await db.close();
