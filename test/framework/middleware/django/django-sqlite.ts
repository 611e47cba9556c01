/**
 * A SQLite file with Django 3.2's `django_session` and `auth_user` tables, created with the DDL
 * `manage.py migrate` runs, for tests that need Django's schema without a Django process.
 */
import { join } from 'node:path'
import Database from 'better-sqlite3'
import type { DjangoDatabaseSettings } from '../../../../src/framework/settings/index.js'

const SCHEMA = `
CREATE TABLE "django_session" ("session_key" varchar(40) NOT NULL PRIMARY KEY, "session_data" text NOT NULL, "expire_date" datetime NOT NULL);
CREATE INDEX "django_session_expire_date_a5c62663" ON "django_session" ("expire_date");
CREATE TABLE "auth_user" ("id" integer NOT NULL PRIMARY KEY AUTOINCREMENT, "password" varchar(128) NOT NULL, "last_login" datetime NULL, "is_superuser" bool NOT NULL, "username" varchar(150) NOT NULL UNIQUE, "last_name" varchar(150) NOT NULL, "email" varchar(254) NOT NULL, "is_staff" bool NOT NULL, "is_active" bool NOT NULL, "date_joined" datetime NOT NULL, "first_name" varchar(150) NOT NULL);
`

export interface DjangoSqlite {
  path: string
  settings: DjangoDatabaseSettings
  /** Insert an auth_user row; resolves to its id. */
  addUser(user: {
    username: string
    password?: string
    isActive?: boolean
    isStaff?: boolean
    isSuperuser?: boolean
    email?: string
  }): number
  /** Run SQL directly (e.g. to tamper with a row). */
  exec(sql: string, ...params: unknown[]): unknown[]
}

/** Create `db.sqlite3` with Django's tables in `dir`. */
export function createDjangoSqlite(dir: string): DjangoSqlite {
  const path = join(dir, 'db.sqlite3')
  const db = new Database(path)
  db.exec(SCHEMA)
  db.close()
  const withDb = <T>(fn: (db: Database.Database) => T): T => {
    const handle = new Database(path)
    try {
      return fn(handle)
    } finally {
      handle.close()
    }
  }
  return {
    path,
    settings: { ENGINE: 'django.db.backends.sqlite3', NAME: path },
    addUser(user) {
      return withDb((handle) =>
        Number(
          handle
            .prepare(
              `INSERT INTO auth_user (password, last_login, is_superuser, username, last_name, email,
                 is_staff, is_active, date_joined, first_name)
               VALUES (?, NULL, ?, ?, '', ?, ?, ?, '2026-01-01 00:00:00', '')`,
            )
            .run(
              user.password ?? 'pbkdf2_sha256$260000$salt$hash',
              user.isSuperuser ? 1 : 0,
              user.username,
              user.email ?? '',
              user.isStaff ? 1 : 0,
              user.isActive === false ? 0 : 1,
            ).lastInsertRowid,
        ),
      )
    },
    exec(sql, ...params) {
      return withDb((handle) => {
        const statement = handle.prepare(sql)
        return statement.reader ? statement.all(...params) : [statement.run(...params)]
      })
    },
  }
}
