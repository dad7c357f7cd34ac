import type { Database, Row, Sql } from '../ports/database.ts';
import { type ProfileFields, searchKeys } from './entries.ts';

/**
 * Writing user_profiles rows: the profile attributes and the search keys derived from them and the
 * user record. Every writer of users.email or users.display_name calls `saveProfile` in the same
 * transaction, so the keys the directory searches never lag behind the record.
 */

export interface ProfileRow extends Row {
  given_name: string | null;
  surname: string | null;
  uid: string | null;
}

/** Creates or replaces the profile row of `userId`, with fresh keys. */
export async function saveProfile(sql: Sql, userId: string, fields: ProfileFields): Promise<void> {
  const k = searchKeys(fields);
  await sql.run(
    `INSERT INTO user_profiles (user_id, given_name, surname, uid, mail_key, cn_key, sn_key, given_name_key, uid_key, keys_stale)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 0)
     ON CONFLICT (user_id) DO UPDATE SET given_name = excluded.given_name, surname = excluded.surname,
       uid = excluded.uid, mail_key = excluded.mail_key, cn_key = excluded.cn_key, sn_key = excluded.sn_key,
       given_name_key = excluded.given_name_key, uid_key = excluded.uid_key, keys_stale = 0`,
    [
      userId,
      fields.givenName ?? null,
      fields.surname ?? null,
      fields.uid ?? null,
      k.mail_key,
      k.cn_key,
      k.sn_key,
      k.given_name_key,
      k.uid_key,
    ],
  );
}

const REFRESH_BATCH = 500;

/**
 * Computes the keys of rows marked keys_stale (made by the migration's SQL backfill, which cannot
 * fold Unicode or find a surname); returns how many rows it refreshed.
 */
export async function refreshStaleKeys(db: Database): Promise<number> {
  let total = 0;
  for (;;) {
    const done = await db.transaction(async (tx) => {
      const rows = await tx.all<{ user_id: string; email: string; display_name: string } & ProfileRow>(
        `SELECT p.user_id, u.email, u.display_name, p.given_name, p.surname, p.uid
           FROM user_profiles p JOIN users u ON u.id = p.user_id
          WHERE p.keys_stale = 1 ORDER BY p.user_id LIMIT ?`,
        [REFRESH_BATCH],
      );
      for (const r of rows) {
        await saveProfile(tx, r.user_id, {
          email: r.email,
          displayName: r.display_name,
          givenName: r.given_name,
          surname: r.surname,
          uid: r.uid,
        });
      }
      return rows.length;
    });
    total += done;
    if (done < REFRESH_BATCH) return total;
  }
}
